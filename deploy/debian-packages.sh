# shellcheck shell=bash
# Sourced by the deploy scripts: installs Debian packages only when they are missing, so a machine
# that already has everything never waits for apt (and never needs the network).

# ensure_debs PKG...: installs the PKGs that `dpkg-query` does not report as installed.
ensure_debs() {
  local missing=() pkg
  for pkg in "$@"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]]; then
      missing+=("$pkg")
    fi
  done
  ((${#missing[@]} == 0)) && return 0
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then sudo=(sudo); fi
  echo "apt: installing ${missing[*]}" >&2
  # One `apt-get update` per process tree: the lists are fresh enough for the next call.
  if [[ -z "${LEDGERLINE_APT_UPDATED:-}" ]]; then
    "${sudo[@]}" apt-get update -qq >&2
    export LEDGERLINE_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confold "${missing[@]}" >&2
}

# ensure_postgresql_server: the server binaries, without the "main" cluster Debian would otherwise
# create and start on port 5432 (tests run their own throw-away cluster, see deploy/postgres.sh).
ensure_postgresql_server() {
  if compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then return 0; fi
  ensure_debs postgresql-common
  local conf=/etc/postgresql-common/createcluster.conf
  if [[ -f "$conf" ]] && ! grep -q '^create_main_cluster *= *false' "$conf"; then
    local sudo=()
    if [[ "$(id -u)" != 0 ]]; then sudo=(sudo); fi
    # A later line wins in this file: appending is enough.
    echo 'create_main_cluster = false' | "${sudo[@]}" tee -a "$conf" >/dev/null
  fi
  ensure_debs postgresql
}

# ensure_prometheus: Prometheus and promtool from Debian's package (make run's metrics and alerts, the
# promtool rule tests of make test). deploy/prometheus.sh runs it from its own folder on its own port
# (9190 by default), so the package's system service (9090, started where systemd runs) is not used.
ensure_prometheus() {
  ensure_debs prometheus
}
