# Sourced by deploy/kafka.sh and deploy/compose-kafka.sh: a KRaft node's properties, so the local broker,
# the local cluster and compose's run with the same security and topic rules.
#
#   kafka_node_properties ROLES NODE_ID VOTERS LISTENERS ADVERTISED PROTOCOL_MAP BROKER_PASSWORD LOG_DIRS \
#                         REPLICAS MIN_ISR
#
# ROLES: `broker,controller` (the single local node), `broker` or `controller` (a cluster's nodes).
# VOTERS: controller.quorum.voters (`1@127.0.0.1:9093`). ADVERTISED may be empty (a controller).
# REPLICAS / MIN_ISR: the default replication factor and min.insync.replicas of every topic, the internal
# ones included: 1 / 1 on one node, 3 / 2 on a cluster (docs/operations.md, "Kafka cluster").
#
# Clients and brokers use SASL/SCRAM-SHA-512 on the listener named SASL_PLAINTEXT. The controller
# listener stays PLAINTEXT bound to a loopback (or compose's internal network): only brokers use it, and
# their principal there (ANONYMOUS) must be a super user for their requests to the controller.
kafka_node_properties() {
  local roles="$1" node_id="$2" voters="$3" listeners="$4" advertised="$5" protocol_map="$6"
  local broker_password="$7" log_dirs="$8" replicas="$9" min_isr="${10}"
  cat <<PROPS
process.roles=$roles
node.id=$node_id
controller.quorum.voters=$voters
listeners=$listeners
listener.security.protocol.map=$protocol_map
controller.listener.names=CONTROLLER
PROPS
  if [[ -n "$advertised" ]]; then echo "advertised.listeners=$advertised"; fi
  if [[ "$roles" == *broker* ]]; then
    cat <<PROPS
inter.broker.listener.name=SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="$broker_password";
PROPS
  fi
  cat <<PROPS
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:broker;User:admin;User:ANONYMOUS
allow.everyone.if.no.acl.found=false
log.dirs=$log_dirs
# Topics are created explicitly at start-up (deploy/kafka_admin.py), never by a stray producer; their
# partition counts come from the topic catalog (shared/ledgerline_shared/topics.py).
num.partitions=6
auto.create.topics.enable=false
default.replication.factor=$replicas
# Internal topics cannot have more replicas than brokers: 1 on one node, 3 on a cluster.
offsets.topic.replication.factor=$replicas
transaction.state.log.replication.factor=$replicas
transaction.state.log.min.isr=$min_isr
share.coordinator.state.topic.replication.factor=$replicas
share.coordinator.state.topic.min.isr=$min_isr
# With acks=all (every Ledgerline producer), a write is acknowledged once this many replicas have it.
min.insync.replicas=$min_isr
# Never elect a replica that is out of sync: acknowledged messages are never lost.
unclean.leader.election.enable=false
# Consumers of a fresh group start at once instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0
PROPS
}
