#!/usr/bin/env bash
# compose.yaml's Kafka entrypoint (apache/kafka image): one node of the same cluster as deploy/kafka.sh
# cluster (3 controllers, 3 brokers), in a container. Its role and addresses come from compose's KAFKA_*
# variables below; the properties themselves from deploy/kafka-node.properties.sh, as locally.
# SASL/SCRAM-SHA-512 for the containers (9092) and host tools (19092, published on 127.0.0.1:9092-9094);
# the controller listener is PLAINTEXT on compose's internal network only (never published). Each
# principal's SCRAM credentials are written at format time from KAFKA_SCRAM_<NAME>_PASSWORD (compose
# refuses to start without them); the ACLs come from kafka-init (deploy/kafka_admin.py --acls).
set -euo pipefail

PROPS=/tmp/server.properties
DATA=/var/lib/kafka/data
PRINCIPALS="broker admin invoicing rendering notification export crm mediation scheduler"

password() {
  local var="KAFKA_SCRAM_${1^^}_PASSWORD"
  [[ -n "${!var:-}" ]] || { echo "compose-kafka: $var is not set" >&2; exit 1; }
  printf '%s' "${!var}"
}

need() {
  [[ -n "${!1:-}" ]] || { echo "compose-kafka: $1 is not set" >&2; exit 1; }
  printf '%s' "${!1}"
}

# shellcheck source=deploy/kafka-node.properties.sh
source /ledgerline/kafka-node.properties.sh
(umask 077; kafka_node_properties "$(need KAFKA_PROCESS_ROLES)" "$(need KAFKA_NODE_ID)" \
  "$(need KAFKA_CONTROLLER_QUORUM_VOTERS)" "$(need KAFKA_LISTENERS)" "${KAFKA_ADVERTISED_LISTENERS:-}" \
  "$(need KAFKA_LISTENER_SECURITY_PROTOCOL_MAP)" "$(password broker)" "$DATA" \
  "$(need KAFKA_DEFAULT_REPLICATION_FACTOR)" "$(need KAFKA_MIN_INSYNC_REPLICAS)" >"$PROPS")

if [[ ! -f "$DATA/meta.properties" ]]; then
  scram=()
  for name in $PRINCIPALS; do
    scram+=(--add-scram "SCRAM-SHA-512=[name=$name,password=$(password "$name")]")
  done
  /opt/kafka/bin/kafka-storage.sh format -t "$(need KAFKA_CLUSTER_ID)" -c "$PROPS" "${scram[@]}"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$PROPS"
