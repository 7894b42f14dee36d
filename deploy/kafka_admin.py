"""Kafka administration for the local stack and compose: wait for the broker, create the topic catalog.

    python deploy/kafka_admin.py wait --bootstrap 127.0.0.1:9092 --timeout 90
    python deploy/kafka_admin.py create-topics --bootstrap 127.0.0.1:9092
    python deploy/kafka_admin.py create-topics --acls --bootstrap 127.0.0.1:9092   (topics, then ACLs)
    python deploy/kafka_admin.py create-acls --bootstrap 127.0.0.1:9092
    python deploy/kafka_admin.py list --bootstrap 127.0.0.1:9092

Topics are created here, at start-up, with the configured partition count (spec section 2): the broker
runs with auto-creation off, so a misspelt topic fails loudly instead of appearing with one partition.
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
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code
from aiokafka.protocol.admin import CreateAclsRequest
from kafka_acls import Acl, acls

from ledgerline_shared.messaging.kafka_security import kafka_client_options
from ledgerline_shared.settings import get_settings
from ledgerline_shared.topics import all_topics

REPLICATION_FACTOR = 1  # one broker locally and in compose


def _client(bootstrap: str, request_timeout_ms: int = 10_000) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        **kafka_client_options(get_settings()),
        bootstrap_servers=bootstrap,
        client_id="ledgerline-admin",
        request_timeout_ms=request_timeout_ms,
    )


async def wait_for_broker(bootstrap: str, timeout_s: float) -> float:
    """Until the broker answers a metadata request with a controller; returns the seconds waited."""
    started = time.monotonic()
    last_error: Exception | None = None
    while time.monotonic() - started < timeout_s:
        admin = _client(bootstrap, request_timeout_ms=5_000)
        try:
            await admin.start()
            cluster = await admin.describe_cluster()
            if cluster.get("brokers") and cluster.get("controller_id", -1) >= 0:
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
    bootstrap: str, names: Sequence[str], partitions: int, timeout_s: float = 60
) -> list[str]:
    """Creates the missing topics; returns the names it created (existing ones are left as they are)."""
    admin = _client(bootstrap)
    try:
        await admin.start()
        response = await admin.create_topics(
            [
                NewTopic(name, num_partitions=partitions, replication_factor=REPLICATION_FACTOR)
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


async def create_acls(bootstrap: str, rules: Sequence[Acl]) -> int:
    """Creates every ACL (creating one that exists changes nothing); returns how many were sent."""
    admin = _client(bootstrap)
    try:
        await admin.start()
        # One ACL per request, one request at a time: each becomes a metadata record on the controller,
        # and a flood of them in flight times out on a loaded machine.
        for rule in rules:
            request = CreateAclsRequest(
                resource_type=_RESOURCE[rule.resource],
                resource_name=rule.name,
                resource_pattern_type_filter=_PATTERN[rule.prefixed],
                principal=f"User:{rule.principal}",
                host="*",
                operation=_OPERATION[rule.operation],
                permission_type=_ALLOW,
            )
            response = await admin._send_request(request)
            for error_code, message in response.creation_responses:
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
        if name == "create-topics":
            cmd.add_argument("--acls", action="store_true", help="then the ACLs of deploy/kafka_acls.py")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    # While the broker boots, aiokafka logs every refused connection as an error: the timeout says it all.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

    try:
        if args.command == "wait":
            waited = asyncio.run(wait_for_broker(args.bootstrap, args.timeout))
            print(f"kafka: ready at {args.bootstrap} (waited {waited:.1f} s)")
        elif args.command == "create-topics":
            asyncio.run(wait_for_broker(args.bootstrap, args.timeout))
            names = all_topics()
            partitions = get_settings().topic_partitions
            created = asyncio.run(create_topics(args.bootstrap, names, partitions, args.timeout))
            print(
                f"kafka: {len(names)} topics present ({len(created)} created, "
                f"{partitions} partitions each for new ones)"
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
