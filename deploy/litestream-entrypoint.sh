#!/bin/sh
# Entry point of deploy/Containerfile.litestream (README "Beyond one
# machine"): restore the database from the replica when the volume has none,
# then run Pushvault under `litestream replicate -exec`, which passes
# SIGTERM to it and syncs the replica a last time after it exits.
# Arguments are Pushvault's flags (the image's CMD).
set -eu
config="${LITESTREAM_CONFIG:-/etc/pushvault/litestream.yml}"
db="${PUSHVAULT_DB:-/data/pushvault.db}"
# A replica that cannot be reached stops here; one with no backup yet (a
# first start) does not, and Pushvault creates a new database.
litestream restore -config "$config" -if-db-not-exists -if-replica-exists "$db"
cmd="deno run --allow-net --allow-read --allow-write /app/pushvault.js"
for arg in "$@"; do
  # -exec takes one string, split on spaces: no flag of ours holds one.
  case "$arg" in *" "*)
    echo "litestream-entrypoint: a flag with a space cannot pass through -exec: $arg" >&2
    exit 2
    ;;
  esac
  cmd="$cmd $arg"
done
exec litestream replicate -config "$config" -exec "$cmd"
