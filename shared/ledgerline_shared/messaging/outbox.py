"""The transactional outbox: an event is a row written in the business transaction.

It reaches Kafka only through the relay, so an event exists if and only if its effect was committed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_shared.cloudevents import Envelope
from ledgerline_shared.observability import tracing
from ledgerline_shared.observability.context import current_correlation_id


def outbox_row(
    *,
    source: str,
    topic: str,
    key: str | None,
    data: BaseModel,
    subject: str | None = None,
    payload: str | None = None,
) -> dict[str, Any]:
    """One outbox row for `data` on `topic`, with a fresh CloudEvents envelope (ce_id, correlation).

    The envelope takes the current trace context (`ce_traceparent`, `ce_tracestate`) now, while the
    emitting transaction's span is current: the relay publishes the headers stored here, so the
    event continues the trace of the work that emitted it, not the relay's.

    `payload`: `data`'s JSON (`model_dump_json(by_alias=True)`) when the caller has it already
    (invoicing stores the same JSON as the document's body), so it is not serialised twice.
    """
    envelope = Envelope.new(
        source=source,
        type=topic,
        subject=subject if subject is not None else key,
        correlation_id=current_correlation_id(),
        trace=tracing.current_carrier(),
    )
    return {
        "ce_id": envelope.id,
        "topic": topic,
        "key": key,
        "headers": json.dumps([[k, v.decode()] for k, v in envelope.headers()]),
        "payload": payload if payload is not None else data.model_dump_json(by_alias=True),
        "created_at": dt.datetime.now(dt.UTC),
    }


async def write_outbox_rows(session: AsyncSession, outbox: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert the rows in the caller's transaction, in their order, in one executemany."""
    if rows:
        await session.execute(insert(outbox), list(rows))


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
    row = outbox_row(source=source, topic=topic, key=key, data=data, subject=subject)
    await write_outbox_rows(session, outbox, [row])
    return str(row["ce_id"])
