#!/usr/bin/env bash
# One-command setup for development and CI, on Debian with Node and npm.
# Idempotent: installs only what is absent and says what it installs.
#   - Deno 2.9.6 from npm (npm install -g deno@2.9.6)
#   - Debian packages the end-to-end tests drive: prometheus,
#     prometheus-pushgateway (the reference), python3-prometheus-client,
#     curl, sqlite3, chromium (UI tests); and wrk, which the gateway
#     benchmark runs beside its own load generator (scripts/bench/); and
#     haproxy, which routes the sharding test (docs/operations.md, "Sharding by job")
#   - Litestream 0.3.13 from npm into .tools/ and openssh-server (a real
#     SFTP endpoint), for the replication drills (tests/replication/)
#   - the npm dependencies declared in deno.json (deno install), so that the
#     tests do not fetch from the network half-way through
# Runs as root (CI) or through sudo when available.
set -euo pipefail

DENO_VERSION="2.9.6"
APT_PACKAGES=(
  prometheus
  prometheus-pushgateway
  python3-prometheus-client
  curl
  sqlite3
  chromium
  systemd
  wrk
  haproxy
  openssh-server
)

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'setup: %s\n' "$*"; }
die() {
  printf 'setup: error: %s\n' "$*" >&2
  exit 1
}

# as_root CMD...: runs CMD as root, through sudo when we are not root.
as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run '$*': run this script as root or install sudo"
  fi
}

deno_version() {
  # "deno 2.9.6 (stable, release, ...)" → "2.9.6"
  deno --version 2>/dev/null | awk 'NR == 1 { print $2 }'
}

install_deno() {
  if command -v deno >/dev/null 2>&1 && [[ "$(deno_version)" == "$DENO_VERSION" ]]; then
    log "deno $DENO_VERSION already installed ($(command -v deno))"
    return
  fi
  command -v npm >/dev/null 2>&1 || die "npm is required to install deno $DENO_VERSION"
  if command -v deno >/dev/null 2>&1; then
    log "installing deno $DENO_VERSION with npm (found $(deno_version) at $(command -v deno))"
  else
    log "installing deno $DENO_VERSION with npm"
  fi
  local prefix
  prefix="$(npm prefix -g)"
  if [[ -w "$prefix/lib" || -w "$prefix/lib/node_modules" ]]; then
    npm install -g "deno@$DENO_VERSION"
  else
    as_root npm install -g "deno@$DENO_VERSION"
  fi
  hash -r
  command -v deno >/dev/null 2>&1 ||
    die "deno was installed but is not on PATH (npm prefix: $prefix/bin)"
  [[ "$(deno_version)" == "$DENO_VERSION" ]] ||
    die "deno on PATH ($(command -v deno)) is $(deno_version), not $DENO_VERSION: put $prefix/bin first in PATH"
}

is_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

install_apt_packages() {
  command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script expects Debian"
  local missing=()
  local pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "Debian packages already installed: ${APT_PACKAGES[*]}"
    return
  fi
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Litestream v0.3.13, the real binary from npm, for the replication drills
# (tests/replication/, docs/operations.md, "Beyond one machine"); .tools/ is gitignored.
LITESTREAM_PACKAGE="@flydotio/litestream-linux-x64@1.0.1"
install_litestream() {
  local bin=".tools/node_modules/@flydotio/litestream-linux-x64/litestream"
  if [[ -x "$bin" ]]; then
    log "litestream already installed ($bin)"
    return
  fi
  command -v npm >/dev/null 2>&1 || die "npm is required to install $LITESTREAM_PACKAGE"
  log "installing litestream with npm ($LITESTREAM_PACKAGE into .tools/)"
  npm install --silent --no-save --prefix .tools "$LITESTREAM_PACKAGE"
  [[ -x "$bin" ]] || die "npm installed $LITESTREAM_PACKAGE but $bin is missing"
}

install_npm_dependencies() {
  log "installing the npm dependencies of deno.json (deno install)"
  deno install --quiet
}

install_apt_packages
install_deno
install_npm_dependencies
install_litestream
log "done"
