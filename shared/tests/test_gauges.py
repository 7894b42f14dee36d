"""The state gauges: the backlog read from the real messaging tables (SQLite), and a refresher that
keeps them current in the background, never lets a dead source hang a scrape, keeps the last values
and says how old they are."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, generate_latest
from sqlalchemy import MetaData, insert

from ledgerline_shared.db import make_engine, make_read_sessionmaker
from ledgerline_shared.messaging.tables import define_messaging_tables
from ledgerline_shared.observability.kafka_lag import PartitionLag
from ledgerline_shared.operations.dashboard_queries import Backlog, backlog
from ledgerline_shared.operations.gauges import GaugeRefresher

metadata = MetaData()
tables = define_messaging_tables(metadata)
NOW = dt.datetime.now(dt.UTC)


def value(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[object]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'messaging.sqlite3'}")
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    try:
        yield make_read_sessionmaker(engine)
    finally:
        await engine.dispose()


def outbox_row(n: int, created: dt.datetime, sent: dt.datetime | None) -> dict[str, object]:
    return {
        "ce_id": f"ce-{n}",
        "topic": "invoice.issued",
        "key": str(n),
        "headers": "[]",
        "payload": "{}",
        "created_at": created,
        "sent_at": sent,
    }


def dead_letter(n: int, replayed: dt.datetime | None) -> dict[str, object]:
    return {
        "consumer": "export.invoice.issued",
        "topic": "invoice.issued",
        "partition": 0,
        "offset": n,
        "headers": "{}",
        "payload": "{}",
        "error": "boom",
        "failed_at": NOW,
        "replayed_at": replayed,
    }


async def test_the_backlog_counts_what_waits_and_dates_the_oldest(sessions) -> None:  # type: ignore[no-untyped-def]
    assert await backlog(sessions, tables) == Backlog(0, None, 0, 0)
    oldest = NOW - dt.timedelta(minutes=7)
    async with sessions() as session, session.begin():
        await session.execute(
            insert(tables.outbox),
            [
                outbox_row(1, NOW - dt.timedelta(hours=1), NOW),  # published long ago: not waiting
                outbox_row(2, oldest, None),
                outbox_row(3, NOW, None),
            ],
        )
        parked = {**outbox_row(4, NOW, None), "id": 4, "error": "too large", "parked_at": NOW}
        parked.pop("sent_at")
        await session.execute(insert(tables.parked_outbox), [parked])
        await session.execute(insert(tables.dead_letters), [dead_letter(1, None), dead_letter(2, NOW)])
    state = await backlog(sessions, tables)
    assert (state.outbox_pending, state.parked_count, state.dead_letters_open) == (2, 1, 1)
    assert state.oldest_pending_at == oldest


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_refresher_sets_every_gauge_from_its_sources() -> None:
    async def state() -> Backlog:
        return Backlog(3, dt.datetime.now(dt.UTC) - dt.timedelta(seconds=90), 2, 1)

    async def lag() -> tuple[list[PartitionLag], str | None]:
        return [
            PartitionLag("g", "invoice.issued", 0, 40, 52),
            PartitionLag("g", "invoice.issued", 1, None, 5),
        ], None

    async def readiness() -> dict[str, str | None]:
        return {"database": None}

    refresher = GaugeRefresher("gauges-a", backlog=state, lag=lag, readiness=readiness)
    assert await refresher.refresh_once() == {"database": None, "kafka": None, "readiness": None}
    assert value("ledgerline_outbox_backlog", service="gauges-a") == 3
    assert 89 <= (value("ledgerline_outbox_oldest_age_seconds", service="gauges-a") or 0) < 120
    assert value("ledgerline_outbox_parked_rows", service="gauges-a") == 2
    assert value("ledgerline_dead_letters", service="gauges-a") == 1
    assert value("ledgerline_consumer_lag", service="gauges-a", topic="invoice.issued", partition="0") == 12
    assert value("ledgerline_consumer_lag", service="gauges-a", topic="invoice.issued", partition="1") == 5


async def test_a_dead_source_keeps_its_last_values_and_its_age_grows_without_blocking_a_scrape() -> None:
    clock = Clock()
    hang = asyncio.Event()
    answers = iter([Backlog(4, None, 0, 0)])

    async def state() -> Backlog:
        try:
            return next(answers)
        except StopIteration:
            await hang.wait()  # the database stopped answering
            raise AssertionError("never") from None

    async def lag() -> tuple[list[PartitionLag], str | None]:
        return [], "lag unavailable: KafkaConnectionError"

    async def readiness() -> dict[str, str | None]:
        await hang.wait()
        return {}

    refresher = GaugeRefresher(
        "gauges-b", backlog=state, lag=lag, readiness=readiness, period_s=0.05, timeout_s=0.2, clock=clock
    )
    errors = await refresher.refresh_once()
    assert errors["database"] is None and "KafkaConnectionError" in (errors["kafka"] or "")
    assert errors["readiness"] == "TimeoutError"
    assert value("ledgerline_ready", service="gauges-b") == 0  # not answering in time is not ready
    assert value("ledgerline_gauge_age_seconds", service="gauges-b", source="database") == 0

    task = asyncio.create_task(refresher.run())
    try:
        clock.now += 30
        started = time.monotonic()
        scraped = generate_latest().decode()  # while a probe hangs: memory only, at once
        assert time.monotonic() - started < 0.5
        assert 'ledgerline_gauge_age_seconds{service="gauges-b",source="database"} 30.0' in scraped
        await asyncio.sleep(0.6)  # a few periods, each probe given up after its timeout
        assert refresher.errors["database"] == "TimeoutError"
        assert value("ledgerline_outbox_backlog", service="gauges-b") == 4  # the last value, kept
        assert value("ledgerline_gauge_age_seconds", service="gauges-b", source="database") == 30
        assert value("ledgerline_gauge_age_seconds", service="gauges-b", source="kafka") == 30
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
