"""Outbox relay throughput: events per second from committed outbox rows to Kafka acks, against a raw
aiokafka idempotent producer sending the same payloads in the same run.

    LEDGERLINE_BENCH_KAFKA=127.0.0.1:19192 python bench/outbox_bench.py    (make bench sets it)
    LEDGERLINE_BENCH_EVENTS=20000 to change the count.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from measure import RUNS, save, stage
from pydantic import BaseModel
from sqlalchemy import MetaData

from ledgerline_shared.cloudevents import Envelope
from ledgerline_shared.db import make_engine, make_read_sessionmaker, make_sessionmaker
from ledgerline_shared.messaging.kafka_security import kafka_client_options
from ledgerline_shared.messaging.outbox import add_to_outbox
from ledgerline_shared.messaging.relay import OutboxRelay, make_producer
from ledgerline_shared.messaging.tables import define_messaging_tables
from ledgerline_shared.settings import get_settings


class Sample(BaseModel):
    number: str
    amount: str
    note: str


def payload(i: int) -> Sample:
    return Sample(number=f"F2026-{i:06d}", amount=f"{i % 1000}.{i % 100:02d}", note="x" * 400)


async def main() -> None:
    bootstrap = os.environ.get("LEDGERLINE_BENCH_KAFKA", "127.0.0.1:9092")
    count = int(os.environ.get("LEDGERLINE_BENCH_EVENTS", "20000"))
    topic = f"bench.outbox.{uuid.uuid4().hex[:8]}"
    security = kafka_client_options(get_settings())  # bench/run.sh: the admin principal
    admin = AIOKafkaAdminClient(**security, bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 6, 1)])
    await admin.close()

    with tempfile.TemporaryDirectory() as tmp:
        metadata = MetaData()
        tables = define_messaging_tables(metadata)
        engine = make_engine(f"sqlite+aiosqlite:///{tmp}/bench.sqlite3")
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        sessions = make_sessionmaker(engine)
        producer = make_producer(bootstrap, "bench-relay", **security)
        await producer.start()
        relay = OutboxRelay(
            sessions,
            tables.outbox,
            lambda: producer,
            service="bench",
            read_sessions=make_read_sessionmaker(engine),
        )
        raws, relays, published = [], [], 0
        for _ in range(RUNS):  # raw, relay, raw, relay...: a burst of load elsewhere hits both
            async with sessions() as session, session.begin():
                for i in range(count):
                    await add_to_outbox(
                        session, tables.outbox, source="/bench", topic=topic, key=str(i % 64), data=payload(i)
                    )
            raws.append(await _raw_seconds(producer, topic, count))
            relay_started = time.perf_counter()
            while (n := await relay.publish_pending()) > 0:
                published += n
            relays.append(time.perf_counter() - relay_started)
        await producer.stop()
        await engine.dispose()

    save(
        "outbox",
        [
            stage(
                f"outbox relay, {count:,} events (rate vs raw producer)",
                raws,
                relays,
                None,
                rate=True,
                extra={"events_per_round": count, "published": published},
            )
        ],
        {
            "note": "relay reads committed rows (SQLite), publishes with acks=all + idempotence, marks them"
            " sent"
        },
    )


async def _raw_seconds(producer, topic: str, count: int) -> float:  # type: ignore[no-untyped-def]
    """The same payloads and headers straight to the producer."""
    started = time.perf_counter()
    futures = []
    for i in range(count):
        headers = Envelope.new(source="/bench", type=topic).headers()
        futures.append(
            await producer.send(
                topic, payload(i).model_dump_json().encode(), key=str(i % 64).encode(), headers=headers
            )
        )
    await asyncio.gather(*futures)
    return time.perf_counter() - started


if __name__ == "__main__":
    asyncio.run(main())
