"""For service tests: hand an event to a service's consumer as Kafka would, without a broker.

The record goes through the same path as a real one (CloudEvents headers, payload validation,
idempotency on ce_id, retries, dead letters); cross-service tests use the real broker instead.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from ledgerline_shared.cloudevents import Envelope
from ledgerline_shared.messaging.failures import RetryLater
from ledgerline_shared.runtime import ServiceRuntime
from ledgerline_shared.topics import CATALOG


@dataclass
class FakeRecord:
    topic: str
    value: bytes
    key: bytes | None
    headers: list[tuple[str, bytes]]
    partition: int = 0
    offset: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def record_for(
    topic: str, data: BaseModel, key: str | None = None, envelope: Envelope | None = None
) -> FakeRecord:
    envelope = envelope or Envelope.new(source="/test", type=topic, subject=key)
    return FakeRecord(
        topic=topic,
        value=data.model_dump_json(by_alias=True).encode(),
        key=key.encode() if key is not None else None,
        headers=envelope.headers(),
    )


async def deliver(runtime: ServiceRuntime, record: FakeRecord, handler_name: str | None = None) -> None:
    """Run the handler registered for the record's topic on it; a transient failure is redelivered
    after its backoff, as the paused and rewound partition would be."""
    subscription = runtime.handlers[record.topic]
    while True:
        try:
            await runtime.consumer.handle_record(
                record,
                CATALOG[record.topic].payload,
                subscription.handler,
                subscription.consumer_name,
                subscription.prepare,
            )
            return
        except RetryLater as later:
            await asyncio.sleep(later.delay_s)
