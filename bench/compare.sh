#!/usr/bin/env bash
# `bash bench/compare.sh OTHER_CHECKOUT [bench/x_bench.py ...]`: the benches (all by default) of this
# checkout and of another one (a worktree
# at the commit before a change), run alternately in one session (other, here, here, other), so a
# refactoring can be judged by how each stage's ratio against its raw baseline moved. Both checkouts
# must be bootstrapped. Results: var/bench/compare/, and a table on stdout (bench/compare_table.py).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OTHER="$(cd "${1:?usage: bench/compare.sh OTHER_CHECKOUT}" && pwd)"
shift
SCRIPTS=("$@")
[ ${#SCRIPTS[@]} -gt 0 ] || SCRIPTS=(bench/*_bench.py)
OUT="$HERE/var/bench/compare"
rm -rf "$OUT" && mkdir -p "$OUT"

# Each checkout gets its own broker and database on its own ports (offsets 0 and 40, both shifted by
# LEDGERLINE_BENCH_PORT_OFFSET as bench/run.sh's are, so two engineers can compare at once).
BASE=${LEDGERLINE_BENCH_PORT_OFFSET:-0}
start() {  # start CHECKOUT OFFSET
  local root=$1 offset=$2
  (
    cd "$root"
    export KAFKA_PORT=$((19192 + offset)) KAFKA_CONTROLLER_PORT=$((19193 + offset))
    export KAFKA_DATA_DIR="$root/var/bench/kafka" PG_PORT=$((15532 + offset)) PG_DIR="$root/var/bench/pg"
    rm -rf "$KAFKA_DATA_DIR"
    bash deploy/postgres.sh start && bash deploy/kafka.sh start && bash deploy/kafka.sh wait 90
    bash deploy/kafka.sh create-topics
  ) >"$OUT/infra-$offset.log" 2>&1
}
stop() {  # stop CHECKOUT OFFSET
  local root=$1 offset=$2
  (
    cd "$root"
    export KAFKA_PORT=$((19192 + offset)) KAFKA_CONTROLLER_PORT=$((19193 + offset))
    export KAFKA_DATA_DIR="$root/var/bench/kafka" PG_PORT=$((15532 + offset)) PG_DIR="$root/var/bench/pg"
    bash deploy/kafka.sh stop || true
    bash deploy/postgres.sh stop || true
  ) >/dev/null 2>&1
}
bench() {  # bench CHECKOUT OFFSET SCRIPT LABEL
  local root=$1 offset=$2 script=$3 label=$4 name
  name="$(basename "$script" _bench.py)"
  echo "== $label $script ($(cut -d' ' -f1 /proc/loadavg))"
  (
    cd "$root"
    export LEDGERLINE_BENCH_KAFKA="127.0.0.1:$((19192 + offset))"
    export LEDGERLINE_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT LEDGERLINE_KAFKA_USERNAME=admin
    LEDGERLINE_KAFKA_PASSWORD="$(cat "$root/var/bench/kafka/credentials/admin")"
    export LEDGERLINE_KAFKA_PASSWORD
    export LEDGERLINE_BENCH_PG="postgresql://postgres@127.0.0.1:$((15532 + offset))"
    export LEDGERLINE_TEST_PG="$LEDGERLINE_BENCH_PG"
    .venv/bin/python "$script"
  ) >"$OUT/$label-$name.log" 2>&1 || echo "   failed: see $OUT/$label-$name.log"
  cp "$root/bench/results/$name.json" "$OUT/$label-$name.json" 2>/dev/null || true
}
trap 'stop "$OTHER" $((BASE + 40)); stop "$HERE" "$BASE"' EXIT
start "$OTHER" $((BASE + 40))
start "$HERE" "$BASE"
cd "$HERE"
for script in "${SCRIPTS[@]}"; do
  [ -f "$OTHER/$script" ] || continue
  bench "$OTHER" $((BASE + 40)) "$script" before-1
  bench "$HERE" "$BASE" "$script" after-1
  bench "$HERE" "$BASE" "$script" after-2
  bench "$OTHER" $((BASE + 40)) "$script" before-2
done
"$HERE/.venv/bin/python" "$HERE/bench/compare_table.py" "$OUT"
