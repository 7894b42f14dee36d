"""For service tests: hand an event to a service's consumer as Kafka would, without a broker.

The record goes through the same path as a real one (CloudEvents headers, payload validation,
idempotency on ce_id, retries, dead letters); cross-service tests use the real broker instead.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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


@asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """A new PostgreSQL database for one test (an asyncpg URL), dropped afterwards.

    LEDGERLINE_TEST_PG (e.g. postgresql://postgres@127.0.0.1:15432), set by deploy/test.sh, names the
    server. Without it the test is skipped on a developer's machine, but fails under CI.
    """
    import asyncpg
    import pytest

    server = os.environ.get("LEDGERLINE_TEST_PG")
    if not server:
        if os.environ.get("CI"):
            pytest.fail("LEDGERLINE_TEST_PG is not set: make test starts PostgreSQL and sets it")
        pytest.skip("needs PostgreSQL: run through make test (or set LEDGERLINE_TEST_PG)")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(f"{server}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
