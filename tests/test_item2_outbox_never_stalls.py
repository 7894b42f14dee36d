"""Issue 11 item 2: one outbox row that can never be published no longer stops the events after it.

On the real broker: a row larger than a Kafka message may be and a row that cannot be serialised
are parked with their error (table, metric), and the rows around them are published, in order.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

from e2e_support import kafka_auth
from prometheus_client import REGISTRY
from pydantic import BaseModel
from sqlalchemy import MetaData, func, insert, select
from test_messaging_guarantees import _count_messages

from ledgerline_shared.db import make_engine, make_read_sessionmaker, make_sessionmaker
from ledgerline_shared.messaging.outbox import add_to_outbox
from ledgerline_shared.messaging.relay import OutboxRelay, make_producer
from ledgerline_shared.messaging.tables import define_messaging_tables


class Note(BaseModel):
    text: str


def _parked_metric(topic: str) -> float:
    return (
        REGISTRY.get_sample_value("ledgerline_outbox_parked_total", {"service": "item2", "topic": topic})
        or 0.0
    )


async def test_item2_unpublishable_rows_are_parked_and_the_relay_moves_on(
    tmp_path: Path, kafka_bootstrap: str, test_topic: str
) -> None:
    metadata = MetaData()
    tables = define_messaging_tables(metadata)
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'item2.sqlite3'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    sessions = make_sessionmaker(engine)
    async with sessions() as session, session.begin():
        for text in ("before", "x" * 1_200_000, "after-large"):  # the middle one: over 1 MiB
            await add_to_outbox(
                session, tables.outbox, source="/t", topic=test_topic, key="k", data=Note(text=text)
            )
        bad_id = str(uuid.uuid4())
        await session.execute(  # headers that are not JSON: the row cannot become a message
            insert(tables.outbox).values(
                ce_id=bad_id,
                topic=test_topic,
                key="k",
                headers="{not json",
                payload=Note(text="bad").model_dump_json(),
                created_at=dt.datetime.now(dt.UTC),
            )
        )
        await add_to_outbox(
            session, tables.outbox, source="/t", topic=test_topic, key="k", data=Note(text="last")
        )
    producer = make_producer(kafka_bootstrap, "item2-relay", **kafka_auth())
    await producer.start()
    parked_before = _parked_metric(test_topic)
    relay = OutboxRelay(
        sessions,
        tables.outbox,
        lambda: producer,
        parked=tables.parked_outbox,
        service="item2",
        read_sessions=make_read_sessionmaker(engine),
    )
    try:
        assert await relay.publish_pending() == 5  # one pass: three sent, two parked, none left
        assert await relay.publish_pending() == 0
    finally:
        await producer.stop()

    published = await _count_messages(kafka_bootstrap, test_topic)
    assert [json.loads(value)["text"] for _headers, value in published] == ["before", "after-large", "last"]
    async with sessions() as session:
        parked = (
            (await session.execute(select(tables.parked_outbox).order_by(tables.parked_outbox.c.id)))
            .mappings()
            .all()
        )
        unsent = await session.scalar(
            select(func.count()).select_from(tables.outbox).where(tables.outbox.c.sent_at.is_(None))
        )
    assert unsent == 0
    assert [row["error"].split(":")[0] for row in parked] == ["MessageSizeTooLargeError", "JSONDecodeError"]
    assert len(parked[0]["payload"]) > 1_200_000  # kept whole, for whoever repairs it
    assert parked[1]["ce_id"] == bad_id
    assert _parked_metric(test_topic) - parked_before == 2
    assert relay.parked == 2 and relay.published == 3
    await engine.dispose()
