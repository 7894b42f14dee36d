"""The transactional outbox: an event is a row written in the business transaction.

It reaches Kafka only through the relay, so an event exists if and only if its effect was committed.
"""

from __future__ import annotations

import datetime as dt
import json

from pydantic import BaseModel
from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_shared.cloudevents import Envelope
from ledgerline_shared.observability.context import current_correlation_id


async def add_to_outbox(
    session: AsyncSession,
    outbox: Table,
    *,
    source: str,
    topic: str,
    key: str | None,
    data: BaseModel,
    subject: str | None = None,
) -> str:
    """Queue `data` for `topic` inside the caller's transaction; returns the event's ce_id."""
    envelope = Envelope.new(
        source=source,
        type=topic,
        subject=subject if subject is not None else key,
        correlation_id=current_correlation_id(),
    )
    await session.execute(
        insert(outbox).values(
            ce_id=envelope.id,
            topic=topic,
            key=key,
            headers=json.dumps([[k, v.decode()] for k, v in envelope.headers()]),
            payload=data.model_dump_json(by_alias=True),
            created_at=dt.datetime.now(dt.UTC),
        )
    )
    return envelope.id
