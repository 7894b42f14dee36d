#!/usr/bin/env bash
# `make test`: install what is missing, start PostgreSQL and a fresh Kafka on the test ports, run every
# test, stop what was started. Extra arguments go to pytest (e.g. `make test ARGS="-k credit"`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash deploy/bootstrap.sh

# LEDGERLINE_TEST_PORT_OFFSET (default 0) shifts every test port, so two checkouts can test at once.
OFFSET="${LEDGERLINE_TEST_PORT_OFFSET:-0}"
export LEDGERLINE_TEST_PORT_OFFSET="$OFFSET"
export KAFKA_PORT=$((19092 + OFFSET)) KAFKA_CONTROLLER_PORT=$((19093 + OFFSET)) KAFKA_DATA_DIR="$ROOT/var/test/kafka"
export PG_PORT=$((15432 + OFFSET)) PG_DIR="$ROOT/var/test/pg"

cleanup() {
  bash deploy/kafka.sh stop >/dev/null 2>&1 || true
  bash deploy/postgres.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

# A fresh broker every run: offsets and messages of an earlier run never leak into this one.
bash deploy/kafka.sh stop >/dev/null 2>&1 || true
rm -rf "$KAFKA_DATA_DIR"
bash deploy/postgres.sh start
bash deploy/kafka.sh start
bash deploy/kafka.sh wait 90
bash deploy/kafka.sh create-topics

export LEDGERLINE_TEST_PG="postgresql://postgres@127.0.0.1:$PG_PORT"
export LEDGERLINE_TEST_KAFKA="127.0.0.1:$KAFKA_PORT"
# The broker's SCRAM passwords (deploy/kafka.sh): each service its principal, the tests' own clients `admin`.
export LEDGERLINE_TEST_KAFKA_CREDENTIALS="$KAFKA_DATA_DIR/credentials"

set +e
.venv/bin/python -m pytest -q -p no:cacheprovider --durations=25 "$@"
status=$?
set -e
if [[ $status -eq 5 ]]; then
  echo "pytest collected no test: that is a failure here" >&2
  exit 1
fi
exit $status
