# Sourced by deploy/kafka.sh and deploy/compose-kafka.sh: the one-node KRaft broker's properties, so the
# local broker and compose's run with the same security and topic rules.
#
#   kafka_node_properties LISTENERS ADVERTISED PROTOCOL_MAP CONTROLLER_PORT BROKER_PASSWORD LOG_DIRS
#
# Clients and the broker itself use SASL/SCRAM-SHA-512 on the listener named SASL_PLAINTEXT. The
# controller listener stays PLAINTEXT bound to a loopback: only this node's broker uses it, and its
# principal there (ANONYMOUS) must be a super user for the broker's requests to the controller.
kafka_node_properties() {
  cat <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$4
listeners=$1
advertised.listeners=$2
listener.security.protocol.map=$3
inter.broker.listener.name=SASL_PLAINTEXT
controller.listener.names=CONTROLLER
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="$5";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:broker;User:admin;User:ANONYMOUS
allow.everyone.if.no.acl.found=false
log.dirs=$6
# Topics are created explicitly at start-up (deploy/kafka_admin.py), never by a stray producer.
num.partitions=6
auto.create.topics.enable=false
default.replication.factor=1
# A single node: internal topics cannot have more replicas than brokers.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
# Consumers of a fresh group start at once instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0
PROPS
}
