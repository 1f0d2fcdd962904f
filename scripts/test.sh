#!/usr/bin/env bash
# The whole gate: setup (idempotent), then `deno task test` (fmt --check,
# lint, check, every test), then `deno task test:replication` (the drills
# that take minutes). Used by CI (.ci/run) and by people.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
deno task test "$@"
# The replication drills (docs/operations.md, "Beyond one machine") take minutes.
exec deno task test:replication
