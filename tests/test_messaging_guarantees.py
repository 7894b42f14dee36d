"""The outbox, the idempotent consumer and dead letters, against the real Kafka broker.

A small service of the test's own (one table of effects, SQLite) uses the shared messaging code
exactly as the four services do.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from e2e_support import kafka_auth, kafka_principal
from faststream.kafka import KafkaBroker
from pydantic import BaseModel
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledgerline_shared.cloudevents import Envelope
from ledgerline_shared.db import make_engine, make_read_sessionmaker, make_sessionmaker
from ledgerline_shared.messaging.consumer import EventConsumer, Inbound, PermanentError
from ledgerline_shared.messaging.kafka_security import faststream_security
from ledgerline_shared.messaging.outbox import add_to_outbox
from ledgerline_shared.messaging.relay import OutboxRelay, make_producer
from ledgerline_shared.messaging.tables import MessagingTables, define_messaging_tables


class Payment(BaseModel):
    reference: str
    poison: bool = False


@dataclass
class TinyService:
    sessions: async_sessionmaker[AsyncSession]
    reads: async_sessionmaker[AsyncSession]
    tables: MessagingTables
    effects: Table


async def _service(path: Path) -> TinyService:
    metadata = MetaData()
    tables = define_messaging_tables(metadata)
    effects = Table(
        "effects",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("reference", String(50), nullable=False),
    )
    engine = make_engine(f"sqlite+aiosqlite:///{path / 'tiny.sqlite3'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    return TinyService(make_sessionmaker(engine), make_read_sessionmaker(engine), tables, effects)


async def _effects(svc: TinyService) -> list[str]:
    async with svc.reads() as session:
        return list((await session.scalars(select(svc.effects.c.reference).order_by(svc.effects.c.id))).all())


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    p = make_producer(kafka_bootstrap, "test-producer", **kafka_auth())
    await p.start()
    yield p
    await p.stop()


async def _eventually(check, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.2)


async def _count_messages(bootstrap: str, topic: str) -> list[tuple[dict[str, str], bytes]]:
    consumer = AIOKafkaConsumer(
        **kafka_auth(), bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        out = []
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=2000)
            for record in batch.get(tp, []):
                out.append(({k: v.decode() for k, v in record.headers}, record.value))
        return out
    finally:
        await consumer.stop()


async def _consume(
    svc: TinyService, bootstrap: str, topic: str, producer: AIOKafkaProducer, handler, retries: int = 2
):  # type: ignore[no-untyped-def]
    broker = KafkaBroker(bootstrap, logger=None, security=faststream_security(kafka_principal()))
    consumer = EventConsumer(
        service="tiny",
        sessions=svc.sessions,
        tables=svc.tables,
        producer=lambda: producer,
        retries=retries,
        backoff_s=0.05,
    )
    consumer.subscribe(broker, topic, Payment, handler, name=topic)
    await broker.start()
    return broker, consumer


def _record_effect(svc: TinyService):  # type: ignore[no-untyped-def]
    async def handler(event: Inbound[Payment], session: AsyncSession) -> None:
        if event.data.poison:
            raise PermanentError("this payment can never be applied")
        await session.execute(insert(svc.effects).values(reference=event.data.reference))

    return handler


async def test_relay_crash_after_publish_causes_no_duplicate_effect(
    tmp_path, kafka_bootstrap, test_topic, producer
):
    svc = await _service(tmp_path)
    async with svc.sessions() as session, session.begin():
        for i in range(5):
            await add_to_outbox(
                session,
                svc.tables.outbox,
                source="/test",
                topic=test_topic,
                key="k",
                data=Payment(reference=f"P{i}"),
            )

    async def crash(_ids: list[int]) -> None:
        raise RuntimeError("relay killed after publishing, before marking sent")

    crashing = OutboxRelay(
        svc.sessions, svc.tables.outbox, lambda: producer, service="tiny", after_publish=crash
    )
    with pytest.raises(RuntimeError):
        await crashing.publish_pending()
    async with svc.sessions() as session:
        unsent = await session.scalar(
            select(func.count()).select_from(svc.tables.outbox).where(svc.tables.outbox.c.sent_at.is_(None))
        )
    assert unsent == 5  # nothing was marked: the restarted relay publishes them again
    restarted = OutboxRelay(svc.sessions, svc.tables.outbox, lambda: producer, service="tiny")
    assert await restarted.publish_pending() == 5
    assert len(await _count_messages(kafka_bootstrap, test_topic)) == 10  # each event twice on the wire

    broker, consumer = await _consume(svc, kafka_bootstrap, test_topic, producer, _record_effect(svc))
    try:

        async def all_ten_seen() -> bool:  # five applied, five recognised as already applied
            stats = consumer.stats.topics.get(test_topic)
            return stats is not None and stats.handled + stats.duplicates == 10

        await _eventually(all_ten_seen)
        assert consumer.stats.topics[test_topic].duplicates == 5
        assert await _effects(svc) == [f"P{i}" for i in range(5)]
    finally:
        await broker.stop()


async def test_redelivered_event_is_applied_once(tmp_path, kafka_bootstrap, test_topic, producer):
    svc = await _service(tmp_path)
    envelope = Envelope.new(source="/test", type=test_topic)
    for _ in range(3):
        await producer.send_and_wait(
            test_topic,
            Payment(reference="ONCE").model_dump_json().encode(),
            key=b"k",
            headers=envelope.headers(),
        )
    await producer.send_and_wait(
        test_topic,
        Payment(reference="AFTER").model_dump_json().encode(),
        key=b"k",
        headers=Envelope.new(source="/test", type=test_topic).headers(),
    )
    broker, consumer = await _consume(svc, kafka_bootstrap, test_topic, producer, _record_effect(svc))
    try:

        async def done() -> bool:
            return "AFTER" in await _effects(svc)

        await _eventually(done)
        assert await _effects(svc) == ["ONCE", "AFTER"]
        assert consumer.stats.topics[test_topic].duplicates == 2
    finally:
        await broker.stop()


async def test_failing_message_goes_to_dlq_and_partition_moves_on(
    tmp_path, kafka_bootstrap, test_topic, producer
):
    svc = await _service(tmp_path)
    bad = Envelope.new(source="/test", type=test_topic)
    await producer.send_and_wait(
        test_topic,
        Payment(reference="BAD", poison=True).model_dump_json().encode(),
        key=b"k",
        headers=bad.headers(),
    )
    await producer.send_and_wait(
        test_topic, b"{not json", key=b"k", headers=Envelope.new(source="/test", type=test_topic).headers()
    )
    for ref in ("G1", "G2"):
        await producer.send_and_wait(
            test_topic,
            Payment(reference=ref).model_dump_json().encode(),
            key=b"k",
            headers=Envelope.new(source="/test", type=test_topic).headers(),
        )
    broker, _consumer = await _consume(svc, kafka_bootstrap, test_topic, producer, _record_effect(svc))
    try:

        async def good_applied() -> bool:
            return await _effects(svc) == ["G1", "G2"]

        await _eventually(good_applied)
        dead = await _count_messages(kafka_bootstrap, test_topic + ".dlq")
        assert len(dead) == 2
        poison_headers, poison_value = dead[0]
        assert poison_headers["ce_id"] == bad.id
        assert "can never be applied" in poison_headers["dlq_error"]
        assert poison_headers["dlq_original_offset"] == "0"
        assert json.loads(poison_value)["reference"] == "BAD"
        assert "invalid message" in dead[1][0]["dlq_error"]
        async with svc.sessions() as session:
            recorded = (await session.execute(select(svc.tables.dead_letters))).mappings().all()
        assert [r["offset"] for r in recorded] == [0, 1]  # kept for the dashboard's replay
    finally:
        await broker.stop()


async def test_handler_that_keeps_failing_is_retried_then_dead_lettered(
    tmp_path, kafka_bootstrap, test_topic, producer
):
    svc = await _service(tmp_path)
    attempts = 0

    async def flaky(event: Inbound[Payment], session: AsyncSession) -> None:
        nonlocal attempts
        attempts += 1
        await session.execute(insert(svc.effects).values(reference="half-done"))
        raise RuntimeError("database said no")  # the effect above must roll back with it

    await producer.send_and_wait(
        test_topic,
        Payment(reference="X").model_dump_json().encode(),
        key=b"k",
        headers=Envelope.new(source="/test", type=test_topic).headers(),
    )
    broker, _consumer = await _consume(svc, kafka_bootstrap, test_topic, producer, flaky, retries=3)
    try:

        async def dead_lettered() -> bool:
            return len(await _count_messages(kafka_bootstrap, test_topic + ".dlq")) == 1

        await _eventually(dead_lettered)
        assert attempts == 3
        assert await _effects(svc) == []
    finally:
        await broker.stop()


async def test_consumer_commits_only_after_its_transaction(tmp_path, kafka_bootstrap, test_topic, producer):
    svc = await _service(tmp_path)
    inside = asyncio.Event()
    release = asyncio.Event()
    group = f"tiny.{test_topic}"

    async def slow(event: Inbound[Payment], session: AsyncSession) -> None:
        await session.execute(insert(svc.effects).values(reference=event.data.reference))
        inside.set()
        await release.wait()

    await producer.send_and_wait(
        test_topic,
        Payment(reference="SLOW").model_dump_json().encode(),
        key=b"k",
        headers=Envelope.new(source="/test", type=test_topic).headers(),
    )
    broker, _consumer = await _consume(svc, kafka_bootstrap, test_topic, producer, slow)
    admin = AIOKafkaAdminClient(**kafka_auth(), bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await asyncio.wait_for(inside.wait(), 30)
        tp = TopicPartition(test_topic, 0)

        async def committed() -> int:
            offsets = await admin.list_consumer_group_offsets(group, partitions=[tp])
            meta = offsets.get(tp)
            return meta.offset if meta is not None else -1

        await asyncio.sleep(1.0)
        assert await committed() <= 0  # the message is in flight: its offset is not committed
        assert await _effects(svc) == []  # and its effect is not visible either
        release.set()

        async def moved() -> bool:
            return await committed() == 1

        await _eventually(moved)
        assert await _effects(svc) == ["SLOW"]
    finally:
        release.set()
        await admin.close()
        await broker.stop()


def test_unique_ids() -> None:
    # Envelopes never share an id: the idempotent consumer relies on it.
    assert len({Envelope.new(source="/t", type="x").id for _ in range(1000)}) == 1000
    assert uuid.UUID(Envelope.new(source="/t", type="x").id)
