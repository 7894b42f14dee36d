#!/usr/bin/env bash
# Prometheus (Debian's `prometheus` package) in its own folder: never /etc/prometheus nor the system's
# service (which the package also installs, on port 9090).
#
#   deploy/prometheus.sh start|stop|status|reload
#
# The folder is LEDGERLINE_PROMETHEUS_DIR (default var/run/prometheus): prometheus.yml rendered from
# deploy/prometheus/prometheus.yml.in (deploy/prometheus_config.py: the stack's ports, every instance of
# every service), data/ (its time series), prometheus.log, prometheus.pid. It listens on
# 127.0.0.1:LEDGERLINE_PROMETHEUS_PORT (default 9190) and evaluates deploy/prometheus/alerts.yml.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${LEDGERLINE_PROMETHEUS_DIR:-$ROOT/var/run/prometheus}"
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
PORT="${LEDGERLINE_PROMETHEUS_PORT:-9190}"
PROMETHEUS="${PROMETHEUS:-prometheus}"
PROMTOOL="${PROMTOOL:-promtool}"
CONF="$DIR/prometheus.yml"
PIDFILE="$DIR/prometheus.pid"
LOG="$DIR/prometheus.log"
URL="http://127.0.0.1:$PORT"
PY="$ROOT/.venv/bin/python"
[[ -x "$PY" ]] || PY=python3

running_pid() {
  local pid
  [[ -s "$PIDFILE" ]] || return 1
  pid="$(cat "$PIDFILE")"
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

render() {
  "$PY" "$ROOT/deploy/prometheus_config.py" "$CONF.new"
  "$PROMTOOL" check config --syntax-only "$CONF.new" >/dev/null
  mv "$CONF.new" "$CONF"
}

ready() { "$PY" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "$URL/-/ready" 2>/dev/null; }

case "${1:-}" in
  start)
    if pid="$(running_pid)"; then echo "prometheus: already running (pid $pid) on $URL"; exit 0; fi
    command -v "$PROMETHEUS" >/dev/null || { echo "prometheus: not installed (apt-get install prometheus)" >&2; exit 1; }
    render
    mkdir -p "$DIR/data"
    # setsid: a Ctrl-C in make run's terminal is make run's to forward, in order.
    setsid "$PROMETHEUS" \
      --config.file="$CONF" \
      --storage.tsdb.path="$DIR/data" \
      --storage.tsdb.retention.time="${LEDGERLINE_PROMETHEUS_RETENTION:-15d}" \
      --web.listen-address="127.0.0.1:$PORT" \
      --web.external-url="$URL" \
      --web.enable-lifecycle \
      >>"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    for _ in $(seq 1 150); do
      if ! running_pid >/dev/null; then break; fi
      if ready; then echo "prometheus: started (pid $(cat "$PIDFILE")) on $URL, logs in $LOG"; exit 0; fi
      sleep 0.2
    done
    echo "prometheus: did not start, see $LOG" >&2
    tail -n 20 "$LOG" >&2 || true
    exit 1
    ;;
  reload)
    render
    pid="$(running_pid)" || { echo "prometheus: not running" >&2; exit 1; }
    kill -HUP "$pid"
    echo "prometheus: configuration reloaded"
    ;;
  stop)
    if ! pid="$(running_pid)"; then echo "prometheus: not running"; rm -f "$PIDFILE"; exit 0; fi
    kill -TERM "$pid"
    for _ in $(seq 1 150); do
      kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; echo "prometheus: stopped"; exit 0; }
      sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$PIDFILE"
    echo "prometheus: stopped (forced)"
    ;;
  status)
    if pid="$(running_pid)"; then echo "prometheus: running (pid $pid) on $URL"; else echo "prometheus: not running"; exit 3; fi
    ;;
  *)
    echo "usage: $0 start|stop|status|reload" >&2
    exit 2
    ;;
esac
