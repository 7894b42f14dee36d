#!/usr/bin/env bash
# compose.yaml's Kafka entrypoint (apache/kafka image): the same broker as deploy/kafka.sh, in a container.
# SASL/SCRAM-SHA-512 for the containers (9092) and host tools (19092, published on 127.0.0.1:9092); the
# controller listener stays PLAINTEXT inside the container. Each principal's SCRAM credentials are
# written at format time from KAFKA_SCRAM_<NAME>_PASSWORD (compose refuses to start without them);
# the ACLs come from kafka-init (deploy/kafka_admin.py create-acls).
set -euo pipefail

PROPS=/tmp/server.properties
DATA=/var/lib/kafka/data
PRINCIPALS="broker admin invoicing rendering notification export crm mediation scheduler"

password() {
  local var="KAFKA_SCRAM_${1^^}_PASSWORD"
  [[ -n "${!var:-}" ]] || { echo "compose-kafka: $var is not set" >&2; exit 1; }
  printf '%s' "${!var}"
}

# shellcheck source=deploy/kafka-node.properties.sh
source /ledgerline/kafka-node.properties.sh
(umask 077; kafka_node_properties "SASL_PLAINTEXT://:9092,CONTROLLER://127.0.0.1:9093,HOST://:19092" \
  "SASL_PLAINTEXT://kafka:9092,HOST://127.0.0.1:9092" \
  "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT,HOST:SASL_PLAINTEXT" 9093 "$(password broker)" "$DATA" \
  >"$PROPS")

if [[ ! -f "$DATA/meta.properties" ]]; then
  scram=()
  for name in $PRINCIPALS; do
    scram+=(--add-scram "SCRAM-SHA-512=[name=$name,password=$(password "$name")]")
  done
  /opt/kafka/bin/kafka-storage.sh format -t "$(/opt/kafka/bin/kafka-storage.sh random-uuid)" -c "$PROPS" "${scram[@]}"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$PROPS"
