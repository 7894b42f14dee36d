"""Kafka administration for the local stack and compose: wait for the broker, create the topic catalog.

    python deploy/kafka_admin.py wait --bootstrap 127.0.0.1:9092 --timeout 90 [--brokers 3]
    python deploy/kafka_admin.py create-topics --bootstrap 127.0.0.1:9092
    python deploy/kafka_admin.py create-topics --bootstrap 127.0.0.1:9092,127.0.0.1:9093 \
        --replication-factor 3 --min-insync-replicas 2            (a cluster: deploy/kafka.sh cluster)
    python deploy/kafka_admin.py create-topics --acls --bootstrap 127.0.0.1:9092   (topics, then ACLs)
    python deploy/kafka_admin.py create-acls --bootstrap 127.0.0.1:9092
    python deploy/kafka_admin.py list --bootstrap 127.0.0.1:9092

Topics are created here, at start-up, each with its partition count from the topic catalog
(ledgerline_shared.topics, docs/events.md), replication factor 1 on one broker and 3 on a cluster with
min.insync.replicas 2: the broker runs with auto-creation off, so a misspelt topic fails loudly instead of
appearing with one partition.
The ACLs of deploy/kafka_acls.py are created here too. The client authenticates with the LEDGERLINE_KAFKA_*
settings: deploy/kafka.sh passes the `admin` principal's.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import IncompatibleBrokerVersion, KafkaError, TopicAlreadyExistsError, for_code
from aiokafka.protocol.admin import CreateAclsRequest
from kafka_acls import Acl, acls

from ledgerline_shared.messaging.kafka_security import kafka_client_options
from ledgerline_shared.settings import get_settings
from ledgerline_shared.topics import all_topics, partitions_of


def _client(bootstrap: str, request_timeout_ms: int = 10_000) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        **kafka_client_options(get_settings()),
        bootstrap_servers=bootstrap,
        client_id="ledgerline-admin",
        request_timeout_ms=request_timeout_ms,
    )


async def wait_for_broker(bootstrap: str, timeout_s: float, brokers: int = 1) -> float:
    """Until the cluster answers a metadata request with a controller and at least `brokers` brokers;
    returns the seconds waited."""
    started = time.monotonic()
    last_error: Exception | None = None
    while time.monotonic() - started < timeout_s:
        admin = _client(bootstrap, request_timeout_ms=5_000)
        try:
            await admin.start()
            cluster = await admin.describe_cluster()
            if len(cluster.get("brokers") or ()) >= brokers and cluster.get("controller_id", -1) >= 0:
                return time.monotonic() - started
        except (KafkaError, OSError) as exc:
            last_error = exc
        finally:
            await admin.close()
        await asyncio.sleep(0.5)
    raise TimeoutError(f"Kafka at {bootstrap} not ready after {timeout_s:.0f} s: {last_error!r}")


def _topic_errors(response: Any) -> list[tuple[str, int]]:
    # CreateTopicsResponse v0..v3 rows are (topic, error_code) or (topic, error_code, error_message).
    return [(row[0], row[1]) for row in response.topic_errors]


async def create_topics(
    bootstrap: str,
    names: Sequence[str],
    timeout_s: float = 60,
    *,
    replication_factor: int = 1,
    min_insync_replicas: int = 1,
) -> list[str]:
    """Creates the missing topics, each with its catalog partition count; returns the names it created
    (existing ones are left as they are)."""
    admin = _client(bootstrap)
    try:
        await admin.start()
        configs = {"min.insync.replicas": str(min_insync_replicas)}
        response = await admin.create_topics(
            [
                NewTopic(
                    name,
                    num_partitions=partitions_of(name),
                    replication_factor=replication_factor,
                    topic_configs=configs,
                )
                for name in names
            ]
        )
        created = []
        for name, code in _topic_errors(response):
            if code == 0:
                created.append(name)
            elif for_code(code) is not TopicAlreadyExistsError:
                raise for_code(code)(f"cannot create topic {name}")
        await _until_led(admin, names, timeout_s)
        return created
    finally:
        await admin.close()


async def _until_led(admin: AIOKafkaAdminClient, names: Sequence[str], timeout_s: float) -> None:
    """Until every partition of `names` has a leader, so the first produce does not bounce."""
    deadline = time.monotonic() + timeout_s
    waiting: set[str] = set(names)
    while time.monotonic() < deadline:
        described = await admin.describe_topics(list(names))
        waiting = {
            t["topic"]
            for t in described
            if t["error_code"] != 0 or not t["partitions"] or any(p["leader"] < 0 for p in t["partitions"])
        }
        if not waiting:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"topics without a leader after {timeout_s:.0f} s: {sorted(waiting)}")


# Kafka's wire codes (org.apache.kafka.common.acl / resource): resource type, pattern, operation, permission.
_RESOURCE = {"topic": 2, "group": 3}
_PATTERN = {False: 3, True: 4}  # LITERAL, PREFIXED
_OPERATION = {"read": 3, "write": 4, "describe": 8}
_ALLOW = 3


class _CreateAcls(CreateAclsRequest):
    """Several ACLs in one CreateAcls request (aiokafka's own request carries one)."""

    def __init__(self, rules: Sequence[Acl]) -> None:
        self._rules = list(rules)

    def build(self, request_struct_class: Any) -> Any:
        if request_struct_class.API_VERSION < 1:  # v0 has no pattern type: no prefixed ACLs
            raise IncompatibleBrokerVersion("CreateAcls v1 (Kafka 2.0) or newer is needed")
        return request_struct_class(
            [
                (
                    _RESOURCE[rule.resource],
                    rule.name,
                    _PATTERN[rule.prefixed],
                    f"User:{rule.principal}",
                    "*",
                    _OPERATION[rule.operation],
                    _ALLOW,
                )
                for rule in self._rules
            ]
        )


# ACLs per request: the controller writes each request's ACLs as one batch of metadata records, so a
# cluster (whose controllers replicate every batch) takes the catalog's hundred-odd ACLs in a few
# round trips instead of one each. Requests go one at a time: a flood in flight times out on a loaded
# machine.
ACLS_PER_REQUEST = 50


async def create_acls(bootstrap: str, rules: Sequence[Acl]) -> int:
    """Creates every ACL (creating one that exists changes nothing); returns how many were sent."""
    admin = _client(bootstrap)
    try:
        await admin.start()
        for first in range(0, len(rules), ACLS_PER_REQUEST):
            chunk = rules[first : first + ACLS_PER_REQUEST]
            response = await admin._send_request(_CreateAcls(chunk))
            for rule, (error_code, message) in zip(chunk, response.creation_responses, strict=True):
                if error_code != 0:
                    raise for_code(error_code)(f"cannot create ACL {rule}: {message}")
        return len(rules)
    finally:
        await admin.close()


async def list_topics(bootstrap: str) -> dict[str, int]:
    """Topic name -> partition count, internal topics left out."""
    admin = _client(bootstrap)
    try:
        await admin.start()
        names = [n for n in await admin.list_topics() if not n.startswith("__")]
        described = await admin.describe_topics(names) if names else []
        return {t["topic"]: len(t["partitions"]) for t in described}
    finally:
        await admin.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("wait", "create-topics", "create-acls", "list"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--bootstrap", default=get_settings().kafka_bootstrap_servers)
        cmd.add_argument("--timeout", type=float, default=90.0)
        if name == "wait":
            cmd.add_argument("--brokers", type=int, default=1, help="until this many brokers answer")
        if name == "create-topics":
            cmd.add_argument("--acls", action="store_true", help="then the ACLs of deploy/kafka_acls.py")
            cmd.add_argument("--replication-factor", type=int, default=1, help="3 on a cluster")
            cmd.add_argument("--min-insync-replicas", type=int, default=1, help="2 on a cluster")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    # While the broker boots, aiokafka logs every refused connection as an error: the timeout says it all.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

    try:
        if args.command == "wait":
            waited = asyncio.run(wait_for_broker(args.bootstrap, args.timeout, args.brokers))
            print(f"kafka: ready at {args.bootstrap} (waited {waited:.1f} s)")
        elif args.command == "create-topics":
            asyncio.run(wait_for_broker(args.bootstrap, args.timeout))
            names = all_topics()
            created = asyncio.run(
                create_topics(
                    args.bootstrap,
                    names,
                    args.timeout,
                    replication_factor=args.replication_factor,
                    min_insync_replicas=args.min_insync_replicas,
                )
            )
            print(
                f"kafka: {len(names)} topics present ({len(created)} created, replication factor "
                f"{args.replication_factor}, min.insync.replicas {args.min_insync_replicas})"
            )
            if args.acls:
                print(f"kafka: {asyncio.run(create_acls(args.bootstrap, acls()))} ACLs present")
        elif args.command == "create-acls":
            asyncio.run(wait_for_broker(args.bootstrap, args.timeout))
            count = asyncio.run(create_acls(args.bootstrap, acls()))
            print(f"kafka: {count} ACLs present")
        else:
            for topic, count in sorted(asyncio.run(list_topics(args.bootstrap)).items()):
                print(f"{topic}\t{count}")
    except (TimeoutError, KafkaError) as exc:
        print(f"kafka: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
