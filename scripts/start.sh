#!/usr/bin/env bash
# Starts Pushvault from this checkout, installing Deno 2.9.6 from npm first
# when it is absent. Every argument is a Pushvault flag, e.g.
#   scripts/start.sh --web.listen-address=:9091 --persistence.file=/var/lib/pushvault/pv.db
# Relative paths in the flags are the caller's: this script never changes
# directory.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DENO_VERSION="2.9.6"
# `deno --version` starts Deno once more before the server, a tenth of the
# time to /-/ready (docs/performance.md, "Fixed costs"): it runs once per
# binary, and .tools/deno-ok remembers the binary that answered (path,
# inode, size, time; the check runs again when any of them changes).
deno_is_pinned() {
  local deno stamp marker="$ROOT/.tools/deno-ok"
  deno="$(command -v deno 2>/dev/null)" || return 1
  stamp="$DENO_VERSION $(ls -Lil "$deno" 2>/dev/null)"
  if [[ -f "$marker" ]] && [[ "$(<"$marker")" == "$stamp" ]]; then
    return 0
  fi
  [[ "$(deno --version | awk 'NR == 1 { print $2 }')" == "$DENO_VERSION" ]] ||
    return 1
  { mkdir -p "$ROOT/.tools" && printf '%s\n' "$stamp" >"$marker"; } \
    2>/dev/null || true
}
if ! deno_is_pinned; then
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
