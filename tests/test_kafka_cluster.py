"""A 3-broker Kafka cluster (deploy/kafka.sh cluster) keeps every acknowledged message when a broker dies.

The cluster is the session's `kafka_cluster` (tests/kafka_cluster_support.py): 3 brokers and 3
controllers on ports of their own, the catalog's topics at replication factor 3 and min.insync.replicas 2,
SASL/SCRAM and the ACLs as on the single broker. tests/test_cluster_faults.py runs the services on it.

- While the services' own producer (ledgerline_shared.messaging.relay.make_producer: acks=all,
  idempotent) writes keyed messages, one broker is killed with kill -9. Every acknowledged message is
  read back exactly once, each key's messages in the order they were sent; the killed broker restarts
  and catches up (every partition's ISR back to 3 replicas).
- With 2 of the 3 brokers down, an acks=all write is refused with NOT_ENOUGH_REPLICAS, and the relay's
  producer (which retries that error without end) gets no acknowledgement: the outbox row would stay
  unsent, never silently accepted. Once the brokers are back that same write is acknowledged, once.
- `make run-cluster` (deploy/run.py --kafka-cluster 3) stops the whole cluster on SIGTERM, also while it
  is still starting (ports 29282-29287 for its brokers and controllers, its own folder).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import NotEnoughReplicasError, RequestTimedOutError
from e2e_support import PORT_OFFSET, ROOT
from kafka_cluster_support import BOOTSTRAP, admin_auth, cluster, kill_broker, partitions, until_isr
from ledgerline_stack import BACKOFFICE, PYTHON, SERVICES
from test_make_run import _started_by

from ledgerline_shared.messaging.relay import make_producer
from ledgerline_shared.topics import CATALOG, INVOICE_ISSUED, all_topics, partitions_of

TOPIC = INVOICE_ISSUED  # a catalog topic, as create-topics made it: 12 partitions, RF 3, min ISR 2
MESSAGES = 3000
KEYS = 40

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(300)]


# make run-cluster under test: brokers 29282-29284, controllers 29285-29287; its services' ports (never
# reached: the SIGTERM comes while the cluster starts) on last two digits no other test stack uses.
RUN_CLUSTER_KAFKA_PORT = 29282 + PORT_OFFSET


def test_make_run_cluster_stops_every_node_on_sigterm_while_starting(kafka_bootstrap: str) -> None:
    run_dir = ROOT / "var" / "test" / f"run-cluster-{os.getpid()}"
    run_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERLINE_")}
    env.update(
        {
            "LEDGERLINE_RUN_DIR": str(run_dir),
            "LEDGERLINE_LOCAL_KAFKA_PORT": str(RUN_CLUSTER_KAFKA_PORT),
            "LEDGERLINE_MAIL_CATCHER_PORT": str(18167 + PORT_OFFSET),
            "LEDGERLINE_SMTP_PORT": str(12567 + PORT_OFFSET),
            "LEDGERLINE_SFTP_PORT": str(12267 + PORT_OFFSET),
            "LEDGERLINE_GATEWAY_PORT": str(18166 + PORT_OFFSET),
            **{
                f"LEDGERLINE_{name.upper()}_PORT": str(18161 + i + PORT_OFFSET)
                for i, name in enumerate((*SERVICES, BACKOFFICE))
            },
        }
    )
    output = run_dir / "run-cluster.out"
    with open(output, "wb") as out:
        run = subprocess.Popen(
            [PYTHON, str(ROOT / "deploy" / "run.py"), "--no-demo", "--kafka-cluster", "3"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a SIGTERM for it alone
        )
    try:
        deadline = time.monotonic() + 240
        while b"kafka: broker 3 started" not in output.read_bytes():
            assert run.poll() is None, output.read_text(errors="replace")[-4000:]
            assert time.monotonic() < deadline, output.read_text(errors="replace")[-4000:]
            time.sleep(0.5)
        nodes = [c for c in _started_by(run_dir).values() if "kafka.Kafka" in c]
        assert len(nodes) == 6, nodes  # 3 brokers and 3 controllers, each its own JVM
        assert all(str(run_dir / "kafka-cluster") in c for c in nodes), nodes

        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=120) == 0, output.read_text(errors="replace")[-4000:]
        deadline = time.monotonic() + 30
        while _started_by(run_dir) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _started_by(run_dir) == {}, "still running after make run-cluster stopped"
        shutil.rmtree(run_dir)  # kept when the test fails: its logs say why
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(timeout=10)


async def read_all(data: Path, topic: str, run: str) -> list[tuple[int, int, str]]:
    """(partition, offset, value) of every message of this run in `topic`, read from the start."""
    consumer = AIOKafkaConsumer(**admin_auth(data), bootstrap_servers=BOOTSTRAP, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p["partition"]) for p in await partitions(data, topic)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        found = []
        for tp in tps:
            while await consumer.position(tp) < ends[tp]:
                for record in (await consumer.getmany(tp, timeout_ms=2000)).get(tp, []):
                    value = record.value.decode()
                    if value.startswith(run):
                        found.append((tp.partition, record.offset, value))
        return found
    finally:
        await consumer.stop()


def test_create_topics_makes_the_catalog_replicated_three_times_with_min_isr_two(
    kafka_cluster: Path,
) -> None:
    async def check() -> None:
        admin = AIOKafkaAdminClient(**admin_auth(kafka_cluster), bootstrap_servers=BOOTSTRAP)
        await admin.start()
        try:
            cluster_info = await admin.describe_cluster()
            assert sorted(b["node_id"] for b in cluster_info["brokers"]) == [1, 2, 3]
            names = all_topics()
            described = {t["topic"]: t for t in await admin.describe_topics(names)}
            for name in names:
                assert len(described[name]["partitions"]) == partitions_of(name), name
                assert all(len(p["replicas"]) == 3 for p in described[name]["partitions"]), name
            configs = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
            )
            min_isr = {
                resource[3]: value
                for response in configs
                for resource in response.resources
                for (key, value, *_rest) in resource[4]
                if key == "min.insync.replicas"
            }
            assert min_isr == dict.fromkeys(names, "2")
        finally:
            await admin.close()

    assert len(CATALOG) > 10
    asyncio.run(check())


async def test_a_broker_killed_mid_production_loses_no_acknowledged_message(kafka_cluster: Path) -> None:
    run = uuid.uuid4().hex[:8]
    producer = make_producer(BOOTSTRAP, "cluster-test", **admin_auth(kafka_cluster))
    await producer.start()
    acked: dict[str, tuple[int, int]] = {}  # value -> (partition, offset) of its acknowledgement
    failed: list[str] = []
    leaders = Counter(p["leader"] for p in await partitions(kafka_cluster, TOPIC))
    victim = leaders.most_common(1)[0][0]  # the broker leading the most partitions of the topic
    started = time.monotonic()
    try:
        for chunk in range(0, MESSAGES, 100):
            if chunk == MESSAGES // 3:
                await asyncio.to_thread(kill_broker, kafka_cluster, victim)
                killed_at = time.monotonic()
            values = [f"{run}:k{i % KEYS:02d}:{i:05d}" for i in range(chunk, chunk + 100)]
            futures = [await producer.send(TOPIC, v.encode(), key=v.split(":")[1].encode()) for v in values]
            for value, outcome in zip(
                values, await asyncio.gather(*futures, return_exceptions=True), strict=True
            ):
                if isinstance(outcome, BaseException):
                    failed.append(f"{value}: {outcome!r}")
                else:
                    acked[value] = (outcome.partition, outcome.offset)
    finally:
        await producer.stop()
    produced_in = time.monotonic() - started
    print(f"{len(acked)} acknowledged in {produced_in:.1f} s, broker {victim} killed after {MESSAGES // 3}")
    # The idempotent producer retries until the new leaders answer: nothing is refused with 2 of 3 up.
    assert failed == []
    assert len(acked) == MESSAGES

    await asyncio.to_thread(cluster, kafka_cluster, "start")  # only the killed broker is down: it alone
    await until_isr(kafka_cluster, TOPIC, 3, 90)  # fails unless every partition has 3 in sync again
    print(f"broker {victim} back in every ISR {time.monotonic() - killed_at:.0f} s after the kill")

    found = await read_all(kafka_cluster, TOPIC, run)
    counts = Counter(value for _, _, value in found)
    assert [v for v, n in counts.items() if n > 1] == []  # none twice
    assert set(counts) == set(acked)  # none lost, none extra
    assert {value: (p, o) for p, o, value in found} == acked  # each where its acknowledgement said
    by_key: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for partition, offset, value in found:
        _, key, seq = value.split(":")
        by_key[key].append((partition, offset, int(seq)))
    for key, rows in by_key.items():
        assert len({p for p, _, _ in rows}) == 1, f"{key} spread over partitions"
        in_log_order = [seq for _, _, seq in sorted(rows)]
        assert in_log_order == sorted(in_log_order), f"{key} out of order"


async def test_with_two_brokers_down_an_acks_all_write_is_refused_not_accepted(kafka_cluster: Path) -> None:
    await until_isr(kafka_cluster, TOPIC, 3, 90)  # the cluster whole again (the test above restarts it)
    run = uuid.uuid4().hex[:8]
    survivor = 3
    for number in (1, 2):
        await asyncio.to_thread(kill_broker, kafka_cluster, number)
    # The controllers (a quorum of their own) fence the dead brokers and shrink every ISR to the survivor.
    await until_isr(kafka_cluster, TOPIC, 1, 60)
    assert all(p["leader"] == survivor for p in await partitions(kafka_cluster, TOPIC))

    plain = AIOKafkaProducer(
        **admin_auth(kafka_cluster),
        bootstrap_servers=BOOTSTRAP,
        acks="all",
        enable_idempotence=False,
        request_timeout_ms=4000,
        retry_backoff_ms=200,
    )
    await plain.start()
    try:
        # Refused: at once (the leader sees one in-sync replica), or never acknowledged (a leader that
        # appended while its ISR still counted a dead broker answers REQUEST_TIMED_OUT; seen under load).
        with pytest.raises((NotEnoughReplicasError, RequestTimedOutError)):
            await plain.send_and_wait(TOPIC, f"{run}:plain".encode(), key=b"k00")
    finally:
        await plain.stop()

    relay = make_producer(BOOTSTRAP, "cluster-test-relay", **admin_auth(kafka_cluster))
    await relay.start()
    try:
        pending = await relay.send(TOPIC, f"{run}:relay".encode(), key=b"k00")
        done, _ = await asyncio.wait([pending], timeout=6)
        assert not done, "acknowledged with one in-sync replica of a min.insync.replicas=2 topic"
        assert await read_all(kafka_cluster, TOPIC, run) == []  # nothing written meanwhile

        await asyncio.to_thread(cluster, kafka_cluster, "start")
        metadata = await asyncio.wait_for(pending, 90)  # the same write, acknowledged once there are 2
    finally:
        await relay.stop()
    written = (metadata.partition, metadata.offset, f"{run}:relay")
    relayed = [m for m in await read_all(kafka_cluster, TOPIC, run) if m[2].endswith(":relay")]
    assert relayed == [written]  # there once, where it was acknowledged
