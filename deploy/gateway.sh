#!/usr/bin/env bash
# The gateway (nginx from Debian's package) in its own folder: never /etc/nginx nor the system's service.
#
#   deploy/gateway.sh start|stop|status|reload
#
# The folder is LEDGERLINE_GATEWAY_DIR (default var/run/gateway): the rendered nginx.conf, nginx.pid,
# logs/access.log, logs/error.log, tmp/. Ports, limits and TLS come from the LEDGERLINE_* variables read
# by deploy/gateway_config.py (LEDGERLINE_GATEWAY_PORT, LEDGERLINE_<SERVICE>_PORT, ..._TLS_CERT/_KEY).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${LEDGERLINE_GATEWAY_DIR:-$ROOT/var/run/gateway}"
mkdir -p "$PREFIX"
PREFIX="$(cd "$PREFIX" && pwd)"
CONF="$PREFIX/nginx.conf"
PIDFILE="$PREFIX/nginx.pid"
NGINX="${NGINX:-/usr/sbin/nginx}"
PY="$ROOT/.venv/bin/python"
[[ -x "$PY" ]] || PY=python3

# -e: errors before the configuration is read also go to our folder, not /var/log/nginx.
nginx_() { "$NGINX" -p "$PREFIX/" -e "$PREFIX/logs/error.log" -c "$CONF" "$@"; }

running_pid() {
  local pid
  [[ -s "$PIDFILE" ]] || return 1
  pid="$(cat "$PIDFILE")"
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

case "${1:-}" in
  start)
    if pid="$(running_pid)"; then echo "gateway: already running (pid $pid)"; exit 0; fi
    mkdir -p "$PREFIX/logs"
    "$PY" "$ROOT/deploy/gateway_config.py" "$PREFIX" >/dev/null
    nginx_ -t -q
    nginx_
    for _ in $(seq 1 50); do
      if pid="$(running_pid)"; then echo "gateway: started (pid $pid), logs in $PREFIX/logs"; exit 0; fi
      sleep 0.1
    done
    echo "gateway: did not start, see $PREFIX/logs/error.log" >&2
    tail -n 20 "$PREFIX/logs/error.log" >&2 || true
    exit 1
    ;;
  reload)
    "$PY" "$ROOT/deploy/gateway_config.py" "$PREFIX" >/dev/null
    nginx_ -t -q
    nginx_ -s reload
    ;;
  stop)
    if ! pid="$(running_pid)"; then echo "gateway: not running"; exit 0; fi
    kill -QUIT "$pid"  # graceful: finishes the requests in flight
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || { echo "gateway: stopped"; exit 0; }
      sleep 0.1
    done
    kill -TERM "$pid" 2>/dev/null || true
    echo "gateway: stopped (forced)"
    ;;
  status)
    if pid="$(running_pid)"; then echo "gateway: running (pid $pid)"; else echo "gateway: stopped"; exit 3; fi
    ;;
  *)
    echo "usage: $0 start|stop|status|reload" >&2
    exit 2
    ;;
esac
