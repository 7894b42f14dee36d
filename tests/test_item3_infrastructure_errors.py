"""Issue 11 item 3: infrastructure errors are not poison.

A handler failing because its database is unreachable, or its process pool broke, is retried with
backoff on a paused and rewound partition (nothing committed, later events of the key wait behind
it), on the real broker and a real PostgreSQL database; only a spent retry budget dead-letters it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor

import pytest
from aiokafka import AIOKafkaProducer
from e2e_support import create_database, drop_database, kafka_auth, kafka_principal
from faststream.kafka import KafkaBroker
from pydantic import BaseModel
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from test_messaging_guarantees import _count_messages, _eventually

from ledgerline_shared.cloudevents import Envelope
from ledgerline_shared.db import make_engine, make_sessionmaker
from ledgerline_shared.messaging.consumer import EventConsumer, Inbound
from ledgerline_shared.messaging.kafka_security import faststream_security
from ledgerline_shared.messaging.relay import make_producer
from ledgerline_shared.messaging.tables import define_messaging_tables


class Payment(BaseModel):
    reference: str


METADATA = MetaData()
TABLES = define_messaging_tables(METADATA)
EFFECTS = Table(
    "effects",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reference", String(50), nullable=False),
)


class CuttableLink:
    """A TCP path to the database that the test can cut (connections dropped, new ones refused)
    and restore: to the service, the database server went away and came back."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.listen_port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._link, "127.0.0.1", self.listen_port)
        self.listen_port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            writer.transport.abort()
            return
        self._open |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.transport.abort()
                self._open.discard(sink)

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.fixture
async def database(postgres_server: str) -> AsyncIterator[str]:
    name = f"item3_{uuid.uuid4().hex[:10]}"
    url = await create_database(postgres_server, name)
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(METADATA.create_all)
    await engine.dispose()
    try:
        yield url
    finally:
        await drop_database(postgres_server, name)


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    p = make_producer(kafka_bootstrap, "item3-producer", **kafka_auth())
    await p.start()
    yield p
    await p.stop()


async def _send(producer: AIOKafkaProducer, topic: str, reference: str) -> None:
    await producer.send_and_wait(
        topic,
        Payment(reference=reference).model_dump_json().encode(),
        key=b"same-key",
        headers=Envelope.new(source="/test", type=topic).headers(),
    )


async def _effects(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.scalars(select(EFFECTS.c.reference).order_by(EFFECTS.c.id))).all())
    finally:
        await engine.dispose()


async def _dead_letter_rows(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.scalars(select(TABLES.dead_letters.c.error))).all())
    finally:
        await engine.dispose()


def _consumer(url: str, producer: AIOKafkaProducer, budget_s: float) -> EventConsumer:
    # Today's quick retries (3 attempts, 0.05 s apart) would have dead-lettered within 0.6 s.
    return EventConsumer(
        service="item3",
        sessions=make_sessionmaker(make_engine(url)),
        tables=TABLES,
        producer=lambda: producer,
        retries=3,
        backoff_s=0.05,
        retry_budget_s=budget_s,
        max_backoff_s=0.5,
    )


async def record_payment(event: Inbound[Payment], session: AsyncSession) -> None:
    await session.execute(insert(EFFECTS).values(reference=event.data.reference))


async def test_item3_database_outage_is_retried_in_order_not_dead_lettered(
    database: str, kafka_bootstrap: str, test_topic: str, producer: AIOKafkaProducer
) -> None:
    server = database.replace("postgresql+asyncpg://", "").split("/", 1)[0].split("@")[-1]
    host, port = server.rsplit(":", 1)
    link = CuttableLink(host, int(port))
    await link.up()
    through_link = database.replace(server, f"127.0.0.1:{link.listen_port}")
    consumer = _consumer(through_link, producer, budget_s=300)
    broker = KafkaBroker(kafka_bootstrap, logger=None, security=faststream_security(kafka_principal()))
    consumer.subscribe(broker, test_topic, Payment, record_payment, name=test_topic)
    await _send(producer, test_topic, "WARM-UP")
    await broker.start()
    try:
        await _eventually(lambda: _has(database, ["WARM-UP"]))
        await link.cut()  # the database goes away, pooled connections included
        await _send(producer, test_topic, "FIRST")
        await _send(producer, test_topic, "SECOND")  # same key, same partition: must wait
        await asyncio.sleep(4.0)  # far longer than the 0.6 s after which it was dead-lettered
        assert await _effects(database) == ["WARM-UP"]
        assert await _count_messages(kafka_bootstrap, test_topic + ".dlq") == []
        assert consumer.stats.on(test_topic).failed >= 2  # it was tried, and tried again
        await link.up()  # the database is back
        await _eventually(lambda: _has(database, ["WARM-UP", "FIRST", "SECOND"]))
        assert await _count_messages(kafka_bootstrap, test_topic + ".dlq") == []
        assert await _dead_letter_rows(database) == []
    finally:
        await broker.stop()
        await link.cut()


async def _has(url: str, references: list[str]) -> bool:
    return await _effects(url) == references


def _nothing() -> None:
    return None


async def test_item3_broken_render_pool_is_dead_lettered_only_when_the_budget_is_spent(
    database: str, kafka_bootstrap: str, test_topic: str, producer: AIOKafkaProducer
) -> None:
    pool = ProcessPoolExecutor(max_workers=1)
    await asyncio.get_running_loop().run_in_executor(pool, _nothing)
    for pid in list(pool._processes):  # a worker killed: the pool is broken for good
        os.kill(pid, signal.SIGKILL)
    attempts: list[float] = []

    async def render_then_record(event: Inbound[Payment], session: AsyncSession) -> None:
        if event.data.reference == "NEEDS-POOL":
            attempts.append(asyncio.get_running_loop().time())
            await asyncio.get_running_loop().run_in_executor(pool, _nothing)
        await session.execute(insert(EFFECTS).values(reference=event.data.reference))

    consumer = _consumer(database, producer, budget_s=3.0)
    broker = KafkaBroker(kafka_bootstrap, logger=None, security=faststream_security(kafka_principal()))
    consumer.subscribe(broker, test_topic, Payment, render_then_record, name=test_topic)
    await _send(producer, test_topic, "NEEDS-POOL")
    await _send(producer, test_topic, "AFTER")
    await broker.start()
    try:
        await _eventually(lambda: _has(database, ["AFTER"]))
        # Retried with backoff for the whole budget, then parked; the next event only then.
        assert attempts[-1] - attempts[0] >= 2.5
        assert len(attempts) < 20  # with backoff, not a tight loop
        [dead] = await _count_messages(kafka_bootstrap, test_topic + ".dlq")
        assert "retry budget of 3 s spent: BrokenProcessPool" in dead[0]["dlq_error"]
        [row] = await _dead_letter_rows(database)
        assert "BrokenProcessPool" in row
    finally:
        await broker.stop()
        pool.shutdown(wait=False)
