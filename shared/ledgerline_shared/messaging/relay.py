"""The outbox relay: publishes committed outbox rows in order, then marks them sent.

A crash between publishing and marking re-publishes the same rows with the same ce_id; consumers are
idempotent on ce_id, so the effect happens once. The producer is idempotent (no duplicates from its
own retries) and waits for every replica (acks=all).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledgerline_shared.observability import metrics

log = structlog.get_logger(__name__)

AfterPublish = Callable[[list[int]], Awaitable[None]]


def make_producer(bootstrap_servers: str, client_id: str, **security: Any) -> AIOKafkaProducer:
    """`security`: kafka_security.kafka_client_options(settings), the service's own principal."""
    return AIOKafkaProducer(
        **security,
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        request_timeout_ms=15000,
        retry_backoff_ms=200,
    )


class OutboxRelay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Table,
        producer: Callable[[], AIOKafkaProducer],
        *,
        service: str,
        poll_s: float = 0.2,
        batch_size: int = 500,
        after_publish: AfterPublish | None = None,
        read_sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self._sessions = sessions
        self._reads = read_sessions or sessions
        self._outbox = outbox
        self._producer = producer  # a getter: the runtime replaces the producer until Kafka answers
        self._service = service
        self._poll_s = poll_s
        self._batch_size = batch_size
        self._after_publish = after_publish  # a test's crash point
        self._wake = asyncio.Event()
        self.published = 0
        self.last_error: str | None = None

    def wake(self) -> None:
        """Publish now rather than at the next poll (called after a commit that wrote events)."""
        self._wake.set()

    async def publish_pending(self) -> int:
        """One pass: publish up to batch_size unsent rows; returns how many were marked sent.

        Rows are read, published and marked in separate steps so no database lock is held while
        Kafka answers (or does not). Running two relays of one service is safe but may publish a
        row twice; consumers absorb that, and `make run` starts one per service.
        """
        async with self._reads() as session:
            rows = (
                await session.execute(
                    select(
                        self._outbox.c.id,
                        self._outbox.c.topic,
                        self._outbox.c.key,
                        self._outbox.c.headers,
                        self._outbox.c.payload,
                    )
                    .where(self._outbox.c.sent_at.is_(None))
                    .order_by(self._outbox.c.id)
                    .limit(self._batch_size)
                )
            ).all()
        if not rows:
            return 0
        futures = []
        for row in rows:
            headers = [(k, v.encode()) for k, v in json.loads(row.headers)]
            futures.append(
                await self._producer().send(
                    row.topic,
                    value=row.payload.encode(),
                    key=row.key.encode() if row.key is not None else None,
                    headers=headers,
                )
            )
        await asyncio.gather(*futures)
        ids = [row.id for row in rows]
        if self._after_publish is not None:
            await self._after_publish(ids)
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(self._outbox).where(self._outbox.c.id.in_(ids)).values(sent_at=dt.datetime.now(dt.UTC))
            )
        for row in rows:
            metrics.EVENTS_PUBLISHED.labels(self._service, row.topic).inc()
        self.published += len(rows)
        return len(rows)

    async def run(self) -> None:
        while True:
            try:
                while await self.publish_pending() == self._batch_size:
                    pass
                self.last_error = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Kafka down, DB busy: keep the rows, try again later
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("outbox relay pass failed", error=self.last_error)
                await asyncio.sleep(1.0)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_s)
            except TimeoutError:
                pass
            self._wake.clear()
