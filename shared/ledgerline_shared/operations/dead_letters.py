"""Replaying a dead letter: hand it again to the consumer that failed it.

In process, not through Kafka: a service's principal may read its input topics but not write them
(docs/security.md), and only the consumer that failed sees the message again. The ce_id is the same
(it was never applied); a new failure dead-letters it again, as from Kafka.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException

from ledgerline_shared.operations.dead_letter_queries import find_dead_letter, mark_replayed
from ledgerline_shared.topics import CATALOG

if TYPE_CHECKING:
    from ledgerline_shared.runtime import ServiceRuntime


@dataclass(frozen=True)
class StoredRecord:
    """A dead letter as the consumer reads a Kafka record."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    partition: int | None
    offset: int | None


async def replay_dead_letter(runtime: ServiceRuntime, dead_letter_id: int) -> dict[str, Any]:
    """Mark the dead letter replayed and start handling it in the background (the answer is 202)."""
    dead_letters = runtime.tables.dead_letters
    row = await find_dead_letter(runtime.read_sessions, dead_letters, dead_letter_id)
    if row is None:
        raise HTTPException(404, detail=f"no dead letter {dead_letter_id}")
    subscription = runtime.handlers.get(row["topic"])
    if subscription is None:
        raise HTTPException(409, detail=f"this service no longer consumes {row['topic']}")
    record = StoredRecord(
        topic=row["topic"],
        key=row["key"].encode() if row["key"] is not None else None,
        value=row["payload"].encode(),
        headers=[(k, v.encode()) for k, v in json.loads(row["headers"]).items()],
        partition=row["partition"],
        offset=row["offset"],
    )
    await mark_replayed(runtime.sessions, dead_letters, dead_letter_id)
    model = CATALOG[row["topic"]].payload
    runtime.track(
        asyncio.create_task(
            runtime.consumer.handle_record(
                record, model, subscription.handler, subscription.consumer_name, subscription.prepare
            ),
            name=f"replay-{dead_letter_id}",
        )
    )
    return {"replayed": dead_letter_id, "topic": row["topic"]}
