#!/usr/bin/env bash
# Installs what this machine lacks to run and test Ledgerline; seconds when nothing is missing.
#
#   deploy/bootstrap.sh        (idempotent; details in var/log/bootstrap.log, one summary line here)
#
# Steps: Debian packages (JDK, Maven, PostgreSQL, WeasyPrint's libraries, nginx, chromium, prometheus), .venv with every package of
# the repo installed editable plus deploy/requirements-dev.txt, the Kafka broker's jars
# (deploy/kafka.sh fetch), the Compose Specification schema for tests/test_compose.py.
set -Eeuo pipefail  # -E: the ERR trap below also fires inside functions

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=deploy/debian-packages.sh
source "$ROOT/deploy/debian-packages.sh"

mkdir -p var/log
LOG="$ROOT/var/log/bootstrap.log"
exec 3>&1 4>&2 >>"$LOG" 2>&1
STARTED=$EPOCHREALTIME
STEP="start"
DONE=()
elapsed() {
  local us=$(( ${EPOCHREALTIME//[.,]/} - ${STARTED//[.,]/} ))
  printf "%d.%02d" $((us / 1000000)) $((us / 10000 % 100))
}
trap 'echo "bootstrap: FAILED during \"$STEP\" after $(elapsed) s, see var/log/bootstrap.log" >&4
      tail -n 25 "$LOG" >&4' ERR
echo "=== bootstrap $(date -u +%FT%TZ) in $ROOT"

# Java for the broker and Maven for its jars; PostgreSQL for the tests; WeasyPrint's native libraries
# (Pango, HarfBuzz's subsetter for embedded fonts), a font and MIME data for rendering; poppler's
# pdftoppm rasterises page 1 for the rendering tests' golden-image comparison; nginx for the
# gateway (run from its own folder by deploy/gateway.sh); chromium for the browser tests (Playwright
# drives it by path: Playwright's own browser download is not used).
DEBS=(openjdk-17-jre-headless maven libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
      fonts-dejavu-core shared-mime-info poppler-utils nginx chromium openssl)

step_debs() {
  STEP="debian packages"
  local before="${LEDGERLINE_APT_UPDATED:-}"
  ensure_postgresql_server
  ensure_debs "${DEBS[@]}"
  ensure_prometheus
  if [[ "${LEDGERLINE_APT_UPDATED:-}" != "$before" ]]; then DONE+=("apt: installed"); else DONE+=("apt: ok"); fi
}

# The first Python >= 3.11 on PATH (the packages require it).
find_python() {
  local py
  for py in python3.11 python3.12 python3.13 python3; do
    if command -v "$py" >/dev/null && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      echo "$py"
      return 0
    fi
  done
  return 1
}

step_venv() {
  STEP="virtualenv"
  if [[ ! -x .venv/bin/python ]]; then
    local py
    py="$(find_python)" || { ensure_debs python3 python3-venv; py=python3; }
    # Debian splits venv/ensurepip out of its python3 package.
    if ! "$py" -c 'import ensurepip, venv' 2>/dev/null; then ensure_debs python3-venv; fi
    "$py" -m venv .venv
    DONE+=("venv: created")
  fi

  STEP="pip install"
  local packages=(shared) dir
  for dir in services/*/; do
    if [[ -f "$dir/pyproject.toml" ]]; then packages+=("${dir%/}"); fi
  done
  # The stamp lives inside .venv so a recreated venv is always installed again.
  local stamp=.venv/.ledgerline-stamp want
  want="$(cat pyproject.toml shared/pyproject.toml services/*/pyproject.toml deploy/requirements-dev.txt \
          2>/dev/null | sha256sum | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    DONE+=("pip: up to date")
    return 0
  fi
  local editable=() p
  for p in "${packages[@]}"; do editable+=(-e "$p"); done
  .venv/bin/python -m pip install -q --disable-pip-version-check "${editable[@]}" -r deploy/requirements-dev.txt
  echo "$want" >"$stamp"
  DONE+=("pip: installed ${#packages[@]} packages")
}

step_kafka() {
  STEP="kafka jars"
  deploy/kafka.sh fetch
  DONE+=("kafka jars: ok")
}

step_compose_schema() {
  STEP="compose schema"
  local target=var/schemas/compose_spec.json
  if [[ -s "$target" ]] && .venv/bin/python -c "import json,sys; json.load(open(sys.argv[1]))" "$target"; then
    DONE+=("compose schema: cached")
    return 0
  fi
  local tmp
  tmp="$(mktemp -d)"
  .venv/bin/python -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    -r deploy/compose-schema.txt -d "$tmp"
  mkdir -p var/schemas
  .venv/bin/python - "$tmp" "$target" <<'EOF'
import glob, sys, zipfile
wheel = glob.glob(f"{sys.argv[1]}/docker_compose-*.whl")[0]
with zipfile.ZipFile(wheel) as zf, open(sys.argv[2], "wb") as out:
    out.write(zf.read("compose/config/compose_spec.json"))
EOF
  rm -rf "$tmp"
  DONE+=("compose schema: fetched")
}

step_debs
step_venv
step_kafka
step_compose_schema

SUMMARY="bootstrap: ready in $(elapsed) s ($(IFS=,; echo "${DONE[*]}" | sed 's/,/, /g'))"
echo "$SUMMARY"
echo "$SUMMARY" >&3
