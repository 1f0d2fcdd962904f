#!/usr/bin/env bash
# Starts Pushvault from this checkout, installing Deno 2.9.6 from npm first
# when it is absent. Every argument is a Pushvault flag, e.g.
#   scripts/start.sh --web.listen-address=:9091 --persistence.file=/var/lib/pushvault/pv.db
# Relative paths in the flags are the caller's: this script never changes
# directory.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DENO_VERSION="2.9.6"
if ! command -v deno >/dev/null 2>&1 || [[ "$(deno --version | awk 'NR == 1 { print $2 }')" != "$DENO_VERSION" ]]; then
  echo "start: installing deno $DENO_VERSION with npm" >&2
  if [[ "$(id -u)" -eq 0 ]] || [[ -w "$(npm prefix -g)/lib" ]]; then
    npm install -g "deno@$DENO_VERSION" >&2
  else
    sudo npm install -g "deno@$DENO_VERSION" >&2
  fi
  hash -r
fi
# --v8-flags: as scripts/compile.ts V8_FLAGS says why.
# Only the server's npm packages: deno.json and deno.lock list the tests'
# too, and Deno fetches every package a lock file names. server.lock holds
# the server's, with deno.lock's checksums (tests/deploy/start_script_test.ts).
exec deno run -A --v8-flags=--heap-growing-percent=30 \
  --no-config --import-map="$ROOT/scripts/server_imports.json" \
  --lock="$ROOT/scripts/server.lock" --frozen \
  "$ROOT/src/main.ts" "$@"
