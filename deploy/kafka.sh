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
# A cluster (docs/operations.md, "Kafka cluster"): N brokers (3 by default) and 3 KRaft controllers, each
# node its own JVM and folder, topics with 3 replicas and min.insync.replicas 2, the same security:
#
#   deploy/kafka.sh cluster start [N] | wait [SECS] | create-topics | stop | status | bootstrap
#
# There KAFKA_PORT is the first broker's port (broker i on KAFKA_PORT+i-1), KAFKA_CONTROLLER_PORT the first
# controller's (default: right after the brokers), KAFKA_DATA_DIR defaults to <repo>/var/run/kafka-cluster.
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

GIVEN_DATA_DIR="${KAFKA_DATA_DIR:-}" GIVEN_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-}"  # for `cluster`
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$ROOT/var/run/kafka}"
LIB="$ROOT/var/kafka-lib"
POM="$ROOT/deploy/kafka/pom.xml"
PYTHON="$ROOT/.venv/bin/python"

# One node's files (the single broker's node folder is $KAFKA_DATA_DIR itself; a cluster's nodes have
# folders of their own, see use_node).
NODE_DIR="$KAFKA_DATA_DIR"
PID_FILE="$NODE_DIR/kafka.pid"
PROPS="$NODE_DIR/server.properties"
LOG4J="$NODE_DIR/log4j2.properties"
LOG_DIRS="$NODE_DIR/data"
CLUSTER_ID_FILE="$KAFKA_DATA_DIR/cluster.id"
CREDENTIALS="$KAFKA_DATA_DIR/credentials"
SCRAM_MARK="$CREDENTIALS/.in-storage"  # the principals written into the storage at format time
HEAP=(-Xms256m -Xmx768m)
JVM_FLAGS=()  # the single broker: the JVM's defaults

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
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q "kafka.Kafka $PROPS" || return 1
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
    kafka_node_properties broker,controller 1 "1@127.0.0.1:$KAFKA_CONTROLLER_PORT" \
      "SASL_PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT" \
      "SASL_PLAINTEXT://127.0.0.1:$KAFKA_PORT" "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT" \
      "$(password_of broker)" "$LOG_DIRS" 1 1
  } >"$PROPS"
  write_log4j
}

write_log4j() {
  cat >"$LOG4J" <<EOF
# Written by deploy/kafka.sh start: the node logs to a file in its data dir, never to the terminal.
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = $NODE_DIR/server.log
appender.file.filePattern = $NODE_DIR/server.log.%i
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

# The tools (format, random-uuid, configs) run a few seconds: the quick JIT and one GC thread start them
# in half the CPU time.
java_cmd() {
  java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dlog4j2.configurationFile="$LOG4J" -Dkafka.logs.dir="$NODE_DIR" -cp "$LIB/*" "$@"
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
    >>"$NODE_DIR/format.log" 2>&1 || die "storage format failed, see $NODE_DIR/format.log"
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
  launch
  echo "kafka: started (pid $(cat "$PID_FILE"), 127.0.0.1:$KAFKA_PORT, logs $KAFKA_DATA_DIR/server.log)"
}

# Starts the node whose files use_node (or the defaults above) named, in the background.
launch() {
  # setsid: the node outlives this shell and its terminal; its own stdout only gets JVM crashes.
  setsid nohup java "${HEAP[@]}" "${JVM_FLAGS[@]}" -Dlog4j2.configurationFile="$LOG4J" \
    -Dkafka.logs.dir="$NODE_DIR" -cp "$LIB/*" kafka.Kafka "$PROPS" \
    >"$NODE_DIR/stdout.log" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
}

# Until the node of use_node (or the single broker) listens on PORT; its log's tail if it died.
wait_port() {
  local port="$1" what="$2" start_s="$3" timeout="$4"
  while ! port_open "$port"; do
    if ! running_pid >/dev/null; then
      tail -n 15 "$NODE_DIR/server.log" "$NODE_DIR/stdout.log" 2>/dev/null | cut -c1-300 >&2
      die "$what is not running (deploy/kafka.sh ${CLUSTER_CMD:-}start first?)"
    fi
    ((SECONDS - start_s < timeout)) || die "port $port ($what) did not open within $timeout s"
    sleep 0.5
  done
}

wait_ready() {
  local timeout="${1:-90}" start_s=$SECONDS
  wait_port "$KAFKA_PORT" "the broker" "$start_s" "$timeout"
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

# -- the cluster: N brokers and a quorum of 3 controllers, each node its own JVM and folder -------------
#
# Why separate controllers (docs/operations.md, "Kafka cluster"): a broker lost (the fault the cluster
# tests inject) never costs a quorum vote, so with 2 of 3 brokers down the controllers still shrink the
# in-sync replica sets and the survivor refuses acks=all writes with NOT_ENOUGH_REPLICAS; with combined
# nodes the same loss also loses the metadata quorum, the ISR cannot shrink and writes just time out.
CLUSTER_CONTROLLERS=3
# Six JVMs on a developer's machine or a CI runner: the quick JIT only (C1) and a serial GC start them
# in a fraction of the CPU time; KAFKA_CLUSTER_JVM_FLAGS replaces these (e.g. "" for the JVM's defaults).
read -r -a CLUSTER_JVM_FLAGS <<<"${KAFKA_CLUSTER_JVM_FLAGS--XX:TieredStopAtLevel=1 -XX:+UseSerialGC}"

# The cluster's folder and first ports (the controllers' right after the N brokers' unless
# KAFKA_CONTROLLER_PORT says otherwise); its credentials and cluster id are shared by its nodes.
cluster_setup() {
  KAFKA_DATA_DIR="${GIVEN_DATA_DIR:-$ROOT/var/run/kafka-cluster}"
  CLUSTER_ID_FILE="$KAFKA_DATA_DIR/cluster.id"
  CREDENTIALS="$KAFKA_DATA_DIR/credentials"
  BROKERS_FILE="$KAFKA_DATA_DIR/brokers"  # N, as the last `cluster start` was given it
  KAFKA_CONTROLLER_PORT="${GIVEN_CONTROLLER_PORT:-$((KAFKA_PORT + ${1:-$(cluster_brokers)}))}"
}

cluster_brokers() {  # N of the last start (3 when never started)
  if [[ -s "$BROKERS_FILE" ]]; then cat "$BROKERS_FILE"; else echo 3; fi
}

broker_port() { echo $((KAFKA_PORT + $1 - 1)); }
controller_port() { echo $((KAFKA_CONTROLLER_PORT + $1 - 1)); }

cluster_voters() {
  local j voters=""
  for j in $(seq 1 "$CLUSTER_CONTROLLERS"); do voters+="${voters:+,}$((100 + j))@127.0.0.1:$(controller_port "$j")"; done
  echo "$voters"
}

cluster_bootstrap() {
  local i list=""
  for i in $(seq 1 "$(cluster_brokers)"); do list+="${list:+,}127.0.0.1:$(broker_port "$i")"; done
  echo "$list"
}

# The files of node KIND (broker, controller) number I: node ids 1..N for brokers, 101..103 for controllers.
use_node() {
  NODE_KIND="$1" NODE_NUMBER="$2"
  NODE_DIR="$KAFKA_DATA_DIR/$1-$2"
  PID_FILE="$NODE_DIR/kafka.pid"
  PROPS="$NODE_DIR/server.properties"
  LOG4J="$NODE_DIR/log4j2.properties"
  LOG_DIRS="$NODE_DIR/data"
  SCRAM_MARK="$NODE_DIR/.scram-in-storage"
  JVM_FLAGS=("${CLUSTER_JVM_FLAGS[@]}")
  if [[ "$1" == broker ]]; then
    NODE_ID="$2" NODE_PORT="$(broker_port "$2")" HEAP=(-Xms256m -Xmx512m)
  else
    NODE_ID=$((100 + $2)) NODE_PORT="$(controller_port "$2")" HEAP=(-Xms64m -Xmx256m)
  fi
}

cluster_nodes() {  # "kind number" lines: the controllers, then the brokers
  local j
  for j in $(seq 1 "$CLUSTER_CONTROLLERS"); do echo "controller $j"; done
  for j in $(seq 1 "$(cluster_brokers)"); do echo "broker $j"; done
}

write_node_config() {
  mkdir -p "$NODE_DIR"
  (umask 077; : >"$PROPS")  # a broker's holds its own password
  local replicas=3 min_isr=2 brokers
  brokers="$(cluster_brokers)"
  if ((brokers < 3)); then replicas="$brokers" min_isr=1; fi
  {
    echo "# Written by deploy/kafka.sh cluster start: $NODE_KIND $NODE_NUMBER of a cluster of $brokers brokers."
    if [[ "$NODE_KIND" == broker ]]; then
      kafka_node_properties broker "$NODE_ID" "$(cluster_voters)" "SASL_PLAINTEXT://127.0.0.1:$NODE_PORT" \
        "SASL_PLAINTEXT://127.0.0.1:$NODE_PORT" "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT" \
        "$(password_of broker)" "$LOG_DIRS" "$replicas" "$min_isr"
    else
      kafka_node_properties controller "$NODE_ID" "$(cluster_voters)" "CONTROLLER://127.0.0.1:$NODE_PORT" "" \
        "CONTROLLER:PLAINTEXT" "" "$LOG_DIRS" "$replicas" "$min_isr"
    fi
  } >"$PROPS"
  write_log4j
}

cluster_start() {
  local brokers="${1:-}" kind number pids=() pid
  if [[ -n "$brokers" ]]; then
    [[ "$brokers" =~ ^[1-9][0-9]*$ ]] || die "usage: kafka.sh cluster start [N] (N brokers, 3 by default)"
    if [[ -s "$BROKERS_FILE" && "$(cat "$BROKERS_FILE")" != "$brokers" ]] && cluster_any_running; then
      die "the cluster in $KAFKA_DATA_DIR runs with $(cat "$BROKERS_FILE") brokers: stop it first"
    fi
  fi
  fetch
  ensure_java
  mkdir -p "$KAFKA_DATA_DIR"
  echo "${brokers:-$(cluster_brokers)}" >"$BROKERS_FILE"
  ensure_credentials
  if [[ ! -s "$CLUSTER_ID_FILE" ]]; then
    # Kafka's Uuid.randomUuid() without a JVM start: 16 random bytes, URL-safe base64, no "-" first.
    "$PYTHON" -c 'import base64, os
while (u := base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")).startswith("-"): pass
print(u)' >"$CLUSTER_ID_FILE"
  fi
  # Every node first written and formatted (in parallel: each format is a JVM start), then started.
  local to_start=()
  while read -r kind number; do
    use_node "$kind" "$number"
    if pid="$(running_pid)"; then
      echo "kafka: $kind $number already running (pid $pid, 127.0.0.1:$NODE_PORT)"
      continue
    fi
    if port_open "$NODE_PORT"; then die "port $NODE_PORT ($kind $number) is already taken by another process"; fi
    write_node_config
    to_start+=("$kind $number")
    format_storage &
    pids+=($!)
  done < <(cluster_nodes)
  for pid in "${pids[@]}"; do wait "$pid" || die "a node's storage format failed (see its format.log)"; done
  local node
  for node in "${to_start[@]}"; do
    use_node $node
    launch
    echo "kafka: $node started (pid $(cat "$PID_FILE"), 127.0.0.1:$NODE_PORT, logs $NODE_DIR/server.log)"
  done
}

cluster_any_running() {
  local kind number
  while read -r kind number; do
    use_node "$kind" "$number"
    if running_pid >/dev/null; then return 0; fi
  done < <(cluster_nodes)
  return 1
}

cluster_wait() {
  local timeout="${1:-90}" start_s=$SECONDS i
  for i in $(seq 1 "$(cluster_brokers)"); do
    use_node broker "$i"
    CLUSTER_CMD="cluster " wait_port "$NODE_PORT" "broker $i" "$start_s" "$timeout"
  done
  local left=$((timeout - (SECONDS - start_s)))
  ((left > 0)) || left=1
  as_admin "$PYTHON" "$ROOT/deploy/kafka_admin.py" wait --bootstrap "$(cluster_bootstrap)" \
    --brokers "$(cluster_brokers)" --timeout "$left"
}

cluster_create_topics() {
  local replicas=3 min_isr=2 brokers
  brokers="$(cluster_brokers)"
  if ((brokers < 3)); then replicas="$brokers" min_isr=1; fi
  as_admin "$PYTHON" "$ROOT/deploy/kafka_admin.py" create-topics --acls --bootstrap "$(cluster_bootstrap)" \
    --replication-factor "$replicas" --min-insync-replicas "$min_isr"
}

# The brokers first, all at once (each hands its partitions' leadership over while the controllers are
# still there), then the controllers: SIGTERM, 30 s grace, then SIGKILL, as `stop` does for one node.
cluster_stop() {
  local count
  count="$(cluster_brokers)"
  stop_nodes broker "$count"
  stop_nodes controller "$CLUSTER_CONTROLLERS"
}

stop_nodes() {
  local kind="$1" count="$2" number pid pids=() files=()
  for number in $(seq 1 "$count"); do
    use_node "$kind" "$number"
    if pid="$(running_pid)"; then
      kill -TERM "$pid"
      pids+=("$pid")
    fi
    files+=("$PID_FILE")
  done
  for _ in $(seq 1 60); do
    local left=0
    for pid in "${pids[@]}"; do if kill -0 "$pid" 2>/dev/null; then left=1; fi; done
    ((left)) || break
    sleep 0.5
  done
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      echo "kafka: $kind pid $pid did not stop within 30 s, killing it" >&2
      kill -KILL "$pid"
    fi
  done
  rm -f "${files[@]}"
  echo "kafka: ${#pids[@]} of $count ${kind}s were running, stopped"
}

cluster_status() {
  local kind number pid down=0
  while read -r kind number; do
    use_node "$kind" "$number"
    if pid="$(running_pid)"; then
      echo "kafka: $kind $number (node $NODE_ID) running (pid $pid, 127.0.0.1:$NODE_PORT)"
    else
      echo "kafka: $kind $number (node $NODE_ID) stopped (127.0.0.1:$NODE_PORT)"
      down=1
    fi
  done < <(cluster_nodes)
  echo "kafka: bootstrap servers $(cluster_bootstrap), data $KAFKA_DATA_DIR"
  ((down == 0)) || return 3
}

cluster() {
  if [[ "${1:-}" == start ]]; then cluster_setup "${2:-}"; else cluster_setup; fi
  case "${1:-}" in
    start) cluster_start "${2:-}" ;;
    wait) cluster_wait "${2:-90}" ;;
    create-topics) cluster_create_topics ;;
    stop) cluster_stop ;;
    status) cluster_status ;;
    bootstrap) cluster_bootstrap ;;
    *) echo "usage: $0 cluster start [N]|wait [SECS]|create-topics|stop|status|bootstrap" >&2; exit 2 ;;
  esac
}

case "${1:-}" in
  cluster) shift; cluster "$@" ;;
  fetch) fetch ;;
  start) start ;;
  wait) wait_ready "${2:-90}" ;;
  create-topics)
    as_admin "$PYTHON" "$ROOT/deploy/kafka_admin.py" create-topics --acls --bootstrap "127.0.0.1:$KAFKA_PORT"
    ;;
  set-password) set_password "${2:-}" ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 fetch|start|wait [SECS]|create-topics|set-password NAME|stop|status|cluster ..." >&2; exit 2 ;;
esac
