#!/usr/bin/env bash
# The whole gate: setup (idempotent), then `deno task test` (fmt --check,
# lint, check, every test). Used by CI (.ci/run) and by people.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
exec deno task test "$@"
