#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the test suite, owned by the `postgres` OS user (the server
# refuses to run as root), listening on 127.0.0.1 only.
#
#   deploy/postgres.sh start    initdb once, start, create the Ledgerline databases (idempotent)
#   deploy/postgres.sh stop
#   deploy/postgres.sh status   exit 0 when running, 3 when not
#
# Environment: PG_PORT (15432), PG_DIR (<repo>/var/test/pg). Connect with
#   psql -h 127.0.0.1 -p "$PG_PORT" -U postgres      (trust auth, no password)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=deploy/debian-packages.sh
source "$ROOT/deploy/debian-packages.sh"

PG_PORT="${PG_PORT:-15432}"
PG_DIR="${PG_DIR:-$ROOT/var/test/pg}"

# The server runs as `postgres`, which cannot enter a private checkout (root's home, a `mktemp -d`
# folder: mode 700). There, the cluster lives under /var/tmp instead, in a folder named after the
# checkout so start and stop agree and two checkouts never share one.
reachable_by_postgres() {
  local dir="$1"
  while [[ ! -e "$dir" ]]; do dir="$(dirname "$dir")"; done
  runuser -u postgres -- test -x "$dir" 2>/dev/null
}
locate_cluster() {  # after pg_bin: the `postgres` user exists only once the server is installed
  if [[ "$(id -u)" == 0 ]] && ! reachable_by_postgres "$PG_DIR"; then
    PG_DIR="/var/tmp/ledgerline-pg/$(printf '%s' "$PG_DIR" | sha256sum | cut -c1-16)"
    mkdir -p "$PG_DIR"
    chmod 755 /var/tmp/ledgerline-pg
  fi
  DATA="$PG_DIR/data"
  SOCKETS="$PG_DIR/run"
  LOG="$PG_DIR/postgres.log"
}
DATA="$PG_DIR/data"
SOCKETS="$PG_DIR/run"
LOG="$PG_DIR/postgres.log"
DATABASES=(ledgerline_invoicing ledgerline_rendering ledgerline_notification ledgerline_export ledgerline_test)

die() { echo "postgres: $*" >&2; exit 1; }

pg_bin() {
  ensure_postgresql_server
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
  [[ -x "$bin/initdb" ]] || die "no initdb under /usr/lib/postgresql/*/bin"
  echo "$bin"
}

# As root, the server programs run as `postgres`; a developer's own account runs them directly.
as_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    (cd / && runuser -u postgres -- "$@")  # cd: a private checkout is not its to enter
  else
    "$@"
  fi
}

init_cluster() {
  local bin="$1"
  [[ -f "$DATA/PG_VERSION" ]] && return 0
  mkdir -p "$DATA" "$SOCKETS"
  if [[ "$(id -u)" == 0 ]]; then
    chown postgres:postgres "$PG_DIR" "$DATA" "$SOCKETS"
    as_owner test -x "$PG_DIR" || die "user postgres cannot reach $PG_DIR (a parent folder is not searchable)"
  fi
  chmod 700 "$DATA"
  as_owner "$bin/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    >"$PG_DIR/initdb.log" 2>&1 || die "initdb failed, see $PG_DIR/initdb.log"
  # Trust, but only over the socket in PG_DIR and on 127.0.0.1: nothing else can reach this cluster.
  as_owner tee "$DATA/pg_hba.conf" >/dev/null <<'EOF'
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  trust
EOF
  as_owner tee -a "$DATA/postgresql.conf" >/dev/null <<EOF

# --- deploy/postgres.sh: a disposable test cluster ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SOCKETS'
max_connections = 200
# Test data is thrown away: skipping disk flushes makes every commit several times faster, and a
# crash can only lose data nobody needs. Never use these three settings for a real database.
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
}

running() {
  local bin="$1"
  [[ -f "$DATA/PG_VERSION" ]] && as_owner "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

# The port the running server really listens on (4th line of postmaster.pid), whatever PG_PORT says now.
live_port() {
  sed -n 4p "$DATA/postmaster.pid"
}

create_databases() {
  local db
  for db in "${DATABASES[@]}"; do
    if [[ -z "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]]; then
      psql_admin -qc "CREATE DATABASE $db" >/dev/null
    fi
  done
}

psql_admin() {
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
  "$bin/psql" -X -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"
}

start() {
  local bin
  bin="$(pg_bin)"
  locate_cluster
  init_cluster "$bin"
  if running "$bin"; then
    PG_PORT="$(live_port)"
    create_databases
    echo "postgres: already running (127.0.0.1:$PG_PORT)"
    return 0
  fi
  # The port is given here rather than in postgresql.conf, so PG_PORT can change between runs.
  as_owner "$bin/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 -o "-p $PG_PORT" start >/dev/null 2>&1 \
    || { tail -n 20 "$LOG" >&2; die "could not start (port $PG_PORT taken?), see $LOG"; }
  create_databases
  echo "postgres: running on 127.0.0.1:$PG_PORT (data $DATA)"
}

stop() {
  local bin
  bin="$(pg_bin)"
  locate_cluster
  if ! running "$bin"; then
    echo "postgres: not running"
    return 0
  fi
  as_owner "$bin/pg_ctl" -D "$DATA" -m fast -w -t 30 stop >/dev/null
  echo "postgres: stopped"
}

status() {
  local bin
  bin="$(pg_bin)"
  locate_cluster
  if running "$bin"; then
    echo "postgres: running (127.0.0.1:$(live_port), data $DATA)"
  else
    echo "postgres: stopped"
    return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
