"""Two outbox relays of one service on one PostgreSQL outbox (issue 13): one publishes, the other
stands by; every row is published once and each key's events keep their order, across a clean
hand-over and across the active relay losing its database session (as when its process dies).

The relays are the real OutboxRelay, each on its own engine (its own connections, as two processes
would have). What they publish to is one recording "partition log" in place of the producer: this
test is about which relay publishes which rows, in which order; the relay's own Kafka behaviour is
proven against the real broker in tests/test_messaging_guarantees.py. Run through deploy/test.sh.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import MetaData, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from ledgerline_shared.db import make_engine, make_read_sessionmaker, make_sessionmaker
from ledgerline_shared.messaging.outbox import outbox_row, write_outbox_rows
from ledgerline_shared.messaging.relay import OutboxRelay
from ledgerline_shared.messaging.tables import define_messaging_tables
from ledgerline_shared.testing import fresh_postgres_database

pytestmark = pytest.mark.timeout(120)

metadata = MetaData()
tables = define_messaging_tables(metadata)
KEYS = [f"F2026-{n:06d}" for n in range(1, 8)]


class Numbered(BaseModel):
    key: str
    seq: int


class PartitionLog:
    """Every message any relay sends, in the order sent (one log: the keys' order is what counts)."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def producer(self, relay: str) -> Any:
        log = self

        class Producer:
            async def send(self, topic: str, *, value: bytes, key: bytes | None, headers: Any) -> Any:
                await asyncio.sleep(0.001)  # a broker round trip: the relays' passes overlap in time
                log.messages.append({"relay": relay, "data": json.loads(value)})
                done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                done.set_result(None)
                return done

        instance = Producer()
        return lambda: instance


class Relay:
    def __init__(self, url: str, name: str, log: PartitionLog) -> None:
        self.engine: AsyncEngine = make_engine(url)
        self.relay = OutboxRelay(
            make_sessionmaker(self.engine),
            tables.outbox,
            log.producer(name),
            parked=tables.parked_outbox,
            service="billing-test",
            poll_s=0.02,
            batch_size=25,
            read_sessions=make_read_sessionmaker(self.engine),
            engine=self.engine,
        )
        self.task = asyncio.create_task(self.relay.run())

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.engine.dispose()


@pytest.fixture
async def outbox_url() -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        engine = make_engine(url)
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        await engine.dispose()
        yield url


async def write_events(url: str, counters: dict[str, int], count: int) -> None:
    """`count` events spread over the keys, each key's numbered 1, 2, 3... in order, a few per commit."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        for start in range(0, count, 5):
            rows = []
            for n in range(start, min(start + 5, count)):
                key = KEYS[n % len(KEYS)]
                counters[key] += 1
                data = Numbered(key=key, seq=counters[key])
                rows.append(outbox_row(source="/test", topic="invoice.issued", key=key, data=data))
            async with sessions() as session, session.begin():
                await write_outbox_rows(session, tables.outbox, rows)
            await asyncio.sleep(0.005)
    finally:
        await engine.dispose()


async def all_sent(url: str, timeout: float = 30.0) -> None:
    engine = make_engine(url)
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            async with engine.connect() as connection:
                unsent = await connection.scalar(
                    select(func.count()).select_from(tables.outbox).where(tables.outbox.c.sent_at.is_(None))
                )
            if unsent == 0:
                return
            assert asyncio.get_running_loop().time() < deadline, f"{unsent} rows never published"
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()


def check_log(log: PartitionLog, counters: dict[str, int]) -> None:
    """Every event once, and each key's events in the order they were written."""
    seen = [(m["data"]["key"], m["data"]["seq"]) for m in log.messages]
    assert len(seen) == len(set(seen)) == sum(counters.values())
    by_key: dict[str, list[int]] = defaultdict(list)
    for key, seq in seen:
        by_key[key].append(seq)
    assert {key: seqs for key, seqs in by_key.items()} == {
        key: list(range(1, counters[key] + 1)) for key in KEYS
    }


async def test_two_relays_publish_every_row_once_in_key_order(outbox_url) -> None:
    log = PartitionLog()
    counters: dict[str, int] = defaultdict(int)
    a, b = Relay(outbox_url, "a", log), Relay(outbox_url, "b", log)
    try:
        await write_events(outbox_url, counters, 200)
        await all_sent(outbox_url)
        # One relay published everything; the other stood by.
        assert sorted([a.relay.published, b.relay.published]) == [0, 200]
        assert a.relay.publisher.active != b.relay.publisher.active
        standby = b if a.relay.publisher.active else a

        # The active relay's database session ends (its process died, its host was lost): the lock
        # goes with it, and the standby takes over at its next poll.
        admin = make_engine(outbox_url)
        async with admin.connect() as connection:
            terminated = await connection.scalar(  # the only advisory lock of this fresh database
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_locks"
                    " WHERE locktype = 'advisory' AND granted"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            )
        await admin.dispose()
        assert terminated == 1
        await write_events(outbox_url, counters, 150)
        await all_sent(outbox_url)
        assert standby.relay.published > 0  # it took over

        # A clean stop hands over at once too.
        current = a if a.relay.publisher.active else b
        await current.stop()
        before = sum(r.relay.published for r in (a, b))
        await write_events(outbox_url, counters, 100)
        await all_sent(outbox_url)
        assert sum(r.relay.published for r in (a, b)) == before + 100
        check_log(log, counters)
        assert {m["relay"] for m in log.messages} == {"a", "b"}
    finally:
        for relay in (a, b):
            if not relay.task.done():
                await relay.stop()
