#!/usr/bin/env bash
# Apache Kafka 4.1 (KRaft, one combined broker+controller node) without Docker: the broker's jars come
# from Maven Central (deploy/kafka/pom.xml) and run on the local JDK (spec section 2).
#
#   deploy/kafka.sh fetch          jars into var/kafka-lib (cached, keyed by the pom's sha256)
#   deploy/kafka.sh start          format storage once, start the broker in the background
#   deploy/kafka.sh wait [SECS]    until it answers a metadata request (default 90 s)
#   deploy/kafka.sh create-topics  the topic catalog and its dead-letter topics, then the ACLs
#   deploy/kafka.sh set-password NAME   a new SCRAM password for a principal (rotation), broker running
#   deploy/kafka.sh stop           SIGTERM, 30 s grace, then SIGKILL
#   deploy/kafka.sh status         exit 0 when running, 3 when not
#
# Environment: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_DATA_DIR (<repo>/var/run/kafka).
#
# Security (docs/security.md): clients authenticate with SASL/SCRAM-SHA-512 on 127.0.0.1:$KAFKA_PORT, each
# service as its own principal (deploy/kafka_acls.py); passwords are generated on first start into
# $KAFKA_DATA_DIR/credentials/<principal> (0600) and written into the storage at format time
# (`StorageTool format --add-scram`); the StandardAuthorizer enforces the ACLs made by create-topics.
# The controller listener stays PLAINTEXT, bound to 127.0.0.1: only this node's broker talks to it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=deploy/debian-packages.sh
source "$ROOT/deploy/debian-packages.sh"
# shellcheck source=deploy/kafka-node.properties.sh
source "$ROOT/deploy/kafka-node.properties.sh"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$ROOT/var/run/kafka}"
LIB="$ROOT/var/kafka-lib"
POM="$ROOT/deploy/kafka/pom.xml"
PYTHON="$ROOT/.venv/bin/python"

PID_FILE="$KAFKA_DATA_DIR/kafka.pid"
PROPS="$KAFKA_DATA_DIR/server.properties"
LOG4J="$KAFKA_DATA_DIR/log4j2.properties"
CLUSTER_ID_FILE="$KAFKA_DATA_DIR/cluster.id"
LOG_DIRS="$KAFKA_DATA_DIR/data"
CREDENTIALS="$KAFKA_DATA_DIR/credentials"
SCRAM_MARK="$CREDENTIALS/.in-storage"  # the principals written into the storage at format time

die() { echo "kafka: $*" >&2; exit 1; }

ensure_java() {
  # Kafka 4 needs Java 17+; maven pulls a JDK of its own only when none is there.
  if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
    ensure_debs openjdk-17-jre-headless maven
  fi
  local major
  major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  [[ "${major%%.*}" -ge 17 ]] || die "Java 17 or newer needed, found ${major:-none}"
}

fetch() {
  local want have=""
  want="$(sha256sum "$POM" | cut -d' ' -f1)"
  [[ -f "$LIB/.stamp" ]] && have="$(head -n1 "$LIB/.stamp")"
  if [[ "$have" == "$want" ]] && jars_complete; then
    return 0
  fi
  ensure_java
  # Into a fresh folder first, so an interrupted fetch never leaves a half class path behind.
  local tmp="$LIB.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$ROOT/var/log"
  local log="$ROOT/var/log/kafka-fetch.log"
  mvn -B -f "$POM" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" >"$log" 2>&1 \
    || { rm -rf "$tmp"; tail -n 20 "$log" >&2; die "maven could not fetch the broker's jars, see $log"; }
  compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || { rm -rf "$tmp"; die "kafka_2.13 jar missing after fetch"; }
  (cd "$tmp" && ls -1 -- *.jar) | sort >"$tmp/.jars"
  printf '%s\n' "$want" >"$tmp/.stamp"
  # Swap by renames: a broker already running from the old folder keeps the jars it has open.
  rm -rf "$LIB.old"
  if [[ -e "$LIB" ]]; then mv "$LIB" "$LIB.old"; fi
  mv "$tmp" "$LIB"
  rm -rf "$LIB.old"
  echo "kafka: $(wc -l <"$LIB/.jars") jars in $LIB" >&2
}

# Every jar listed at fetch time is still there (someone may have cleaned var/ partly).
jars_complete() {
  [[ -f "$LIB/.jars" ]] || return 1
  local jar
  while read -r jar; do [[ -f "$LIB/$jar" ]] || return 1; done <"$LIB/.jars"
}

running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  # The PID must still be our broker (PIDs are reused): java running kafka.Kafka on this data dir.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "kafka.Kafka $PROPS" || return 1
  echo "$pid"
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

PRINCIPALS=""
load_principals() {  # once per run: the names come from the topic catalog (deploy/kafka_acls.py)
  [[ -n "$PRINCIPALS" ]] || PRINCIPALS="$("$PYTHON" "$ROOT/deploy/kafka_acls.py" principals)"
}

random_password() {
  od -An -N24 -tx1 /dev/urandom | tr -d ' \n'
}

# One random password per principal, made once and kept (0600) with the broker's data.
ensure_credentials() {
  mkdir -p "$CREDENTIALS"
  chmod 700 "$CREDENTIALS"
  local name
  load_principals
  for name in $PRINCIPALS; do
    if [[ ! -s "$CREDENTIALS/$name" ]]; then
      (umask 077; random_password >"$CREDENTIALS/$name")
    fi
  done
}

password_of() {
  cat "$CREDENTIALS/$1"
}

# The admin principal's settings for deploy/kafka_admin.py (topic creation, ACLs, readiness).
as_admin() {
  LEDGERLINE_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT LEDGERLINE_KAFKA_SASL_MECHANISM=SCRAM-SHA-512 \
    LEDGERLINE_KAFKA_USERNAME=admin LEDGERLINE_KAFKA_PASSWORD="$(password_of admin)" "$@"
}

write_config() {
  (umask 077; : >"$PROPS")  # it holds the broker's own password
  {
    echo "# Written by deploy/kafka.sh start: one node that is both broker and KRaft controller."
    kafka_node_properties "SASL_PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT" \
      "SASL_PLAINTEXT://127.0.0.1:$KAFKA_PORT" "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT" \
      "$KAFKA_CONTROLLER_PORT" "$(password_of broker)" "$LOG_DIRS"
  } >"$PROPS"
  cat >"$LOG4J" <<EOF
# Written by deploy/kafka.sh start: the broker logs to a file in its data dir, never to the terminal.
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = $KAFKA_DATA_DIR/server.log
appender.file.filePattern = $KAFKA_DATA_DIR/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
EOF
}

java_cmd() {
  java -Dlog4j2.configurationFile="$LOG4J" -Dkafka.logs.dir="$KAFKA_DATA_DIR" -cp "$LIB/*" "$@"
}

format_storage() {
  if [[ -f "$LOG_DIRS/meta.properties" ]]; then
    [[ -f "$SCRAM_MARK" ]] && return 0
    # Formatted by an older kafka.sh, without SCRAM users: a local broker's data is disposable (every
    # service keeps its state in its database and its outbox), so format again once.
    echo "kafka: storage in $LOG_DIRS has no SCRAM users; formatting it again" >&2
    rm -rf "$LOG_DIRS"
  fi
  if [[ ! -s "$CLUSTER_ID_FILE" ]]; then
    java_cmd kafka.tools.StorageTool random-uuid | tail -n1 >"$CLUSTER_ID_FILE"
  fi
  local scram=() name
  load_principals
  for name in $PRINCIPALS; do
    scram+=(--add-scram "SCRAM-SHA-512=[name=$name,password=$(password_of "$name")]")
  done
  java_cmd kafka.tools.StorageTool format -t "$(cat "$CLUSTER_ID_FILE")" -c "$PROPS" "${scram[@]}" \
    >>"$KAFKA_DATA_DIR/format.log" 2>&1 || die "storage format failed, see $KAFKA_DATA_DIR/format.log"
  echo "$PRINCIPALS" >"$SCRAM_MARK"
}

# Rotation, or a principal added after the format: a new password, set through the admin principal.
set_password() {
  local name="$1" new config="$CREDENTIALS/.admin.properties"
  [[ -n "$name" ]] || die "usage: kafka.sh set-password NAME"
  [[ "$name" != admin && "$name" != broker ]] || die "$name is rotated by formatting a new local broker"
  running_pid >/dev/null || die "the broker is not running"
  new="$(random_password)"
  (umask 077; printf '%s\n' "security.protocol=SASL_PLAINTEXT" "sasl.mechanism=SCRAM-SHA-512" \
    "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"$(password_of admin)\";" \
    >"$config")
  if ! java_cmd kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
    --command-config "$config" --alter --entity-type users --entity-name "$name" \
    --add-config "SCRAM-SHA-512=[password=$new]" >>"$KAFKA_DATA_DIR/format.log" 2>&1; then
    rm -f "$config"
    die "could not set the password of $name, see $KAFKA_DATA_DIR/format.log"
  fi
  rm -f "$config"
  (umask 077; printf '%s' "$new" >"$CREDENTIALS/$name")
  echo "kafka: new password for $name in $CREDENTIALS/$name (restart what uses it)"
}

start() {
  if pid="$(running_pid)"; then
    echo "kafka: already running (pid $pid, 127.0.0.1:$KAFKA_PORT)"
    return 0
  fi
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_open "$port"; then die "port $port is already taken by another process"; fi
  done
  fetch
  ensure_java
  mkdir -p "$KAFKA_DATA_DIR"
  ensure_credentials
  write_config
  format_storage
  # setsid: the broker outlives this shell and its terminal; its own stdout only gets JVM crashes.
  setsid nohup java -Xms256m -Xmx768m -Dlog4j2.configurationFile="$LOG4J" \
    -Dkafka.logs.dir="$KAFKA_DATA_DIR" -cp "$LIB/*" kafka.Kafka "$PROPS" \
    >"$KAFKA_DATA_DIR/stdout.log" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  echo "kafka: started (pid $!, 127.0.0.1:$KAFKA_PORT, logs $KAFKA_DATA_DIR/server.log)"
}

wait_ready() {
  local timeout="${1:-90}" start_s=$SECONDS
  while ! port_open "$KAFKA_PORT"; do
    if ! running_pid >/dev/null; then
      tail -n 15 "$KAFKA_DATA_DIR/server.log" "$KAFKA_DATA_DIR/stdout.log" 2>/dev/null | cut -c1-300 >&2
      die "the broker is not running (deploy/kafka.sh start first?)"
    fi
    ((SECONDS - start_s < timeout)) || die "port $KAFKA_PORT did not open within $timeout s"
    sleep 0.5
  done
  local left=$((timeout - (SECONDS - start_s)))
  ((left > 0)) || left=1
  as_admin "$PYTHON" "$ROOT/deploy/kafka_admin.py" wait --bootstrap "127.0.0.1:$KAFKA_PORT" --timeout "$left"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    echo "kafka: not running"
    return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "kafka: no clean stop within 30 s, killing pid $pid" >&2
    kill -KILL "$pid"
  fi
  rm -f "$PID_FILE"
  echo "kafka: stopped"
}

status() {
  local pid
  if pid="$(running_pid)"; then
    echo "kafka: running (pid $pid, 127.0.0.1:$KAFKA_PORT, data $KAFKA_DATA_DIR)"
  else
    echo "kafka: stopped"
    return 3
  fi
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  wait) wait_ready "${2:-90}" ;;
  create-topics)
    as_admin "$PYTHON" "$ROOT/deploy/kafka_admin.py" create-topics --acls --bootstrap "127.0.0.1:$KAFKA_PORT"
    ;;
  set-password) set_password "${2:-}" ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 fetch|start|wait [SECS]|create-topics|set-password NAME|stop|status" >&2; exit 2 ;;
esac
