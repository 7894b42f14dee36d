#!/usr/bin/env bash
# `make bench`: each script in bench/ measures Ledgerline against a raw baseline in the same run and
# writes bench/results/<name>.json. Kafka and PostgreSQL run on their own bench ports.
# `bash bench/run.sh bench/x_bench.py ...` runs only those scripts (the table still shows every result).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# LEDGERLINE_BENCH_PORT_OFFSET shifts every bench port (as LEDGERLINE_TEST_PORT_OFFSET does for the
# tests), so two checkouts can bench side by side.
OFFSET="${LEDGERLINE_BENCH_PORT_OFFSET:-0}"
export KAFKA_PORT=$((19192 + OFFSET)) KAFKA_CONTROLLER_PORT=$((19193 + OFFSET)) KAFKA_DATA_DIR="$ROOT/var/bench/kafka"
export PG_PORT=$((15532 + OFFSET)) PG_DIR="$ROOT/var/bench/pg"
cleanup() {
  bash deploy/kafka.sh stop >/dev/null 2>&1 || true
  bash deploy/postgres.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
rm -rf "$KAFKA_DATA_DIR"
bash deploy/postgres.sh start
bash deploy/kafka.sh start
bash deploy/kafka.sh wait 90
bash deploy/kafka.sh create-topics
export LEDGERLINE_BENCH_KAFKA="127.0.0.1:$KAFKA_PORT"
# The benchmarks' own Kafka clients authenticate as the broker's admin principal (deploy/kafka.sh).
export LEDGERLINE_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT LEDGERLINE_KAFKA_USERNAME=admin
LEDGERLINE_KAFKA_PASSWORD="$(cat "$KAFKA_DATA_DIR/credentials/admin")"
export LEDGERLINE_KAFKA_PASSWORD
export LEDGERLINE_BENCH_PG="postgresql://postgres@127.0.0.1:$PG_PORT"
export LEDGERLINE_TEST_PG="$LEDGERLINE_BENCH_PG"

mkdir -p bench/results
status=0
SCRIPTS=("$@")
[ ${#SCRIPTS[@]} -gt 0 ] || SCRIPTS=(bench/*_bench.py)
for script in "${SCRIPTS[@]}"; do
  echo "== $script"
  .venv/bin/python "$script" || { echo "bench failed: $script" >&2; status=1; }
done
echo "results in bench/results/"
.venv/bin/python bench/table.py
exit $status
