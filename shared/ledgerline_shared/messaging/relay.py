"""The outbox relay: publishes committed outbox rows in order, then marks them sent.

A crash between publishing and marking re-publishes the same rows with the same ce_id; consumers are
idempotent on ce_id, so the effect happens once. The producer is idempotent (no duplicates from its
own retries) and waits for every replica (acks=all).

A row that can never be published (larger than a Kafka message may be, not serialisable) is parked:
moved with its error to the `parked_outbox` table, counted in a metric and shown on the dashboard,
and the relay goes on with the next rows. Any other failure (the broker away, a timeout) keeps the
row, and the relay tries again with a doubling backoff.

Several instances of a service: one relay is the active publisher, the others stand by
(messaging/publisher_lock.py: a PostgreSQL advisory lock, released when its holder dies).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)
from sqlalchemy import Row, Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ledgerline_shared.messaging.publisher_lock import ActivePublisher
from ledgerline_shared.observability import metrics

log = structlog.get_logger(__name__)

AfterPublish = Callable[[list[int]], Awaitable[None]]

# What no retry will ever fix: the message is too large for the broker or its topic name is
# invalid, or the row cannot be turned into a message (headers not JSON, text not encodable).
_UNPUBLISHABLE: tuple[type[BaseException], ...] = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    InvalidTopicError,
    ValueError,  # json.JSONDecodeError, UnicodeEncodeError
    TypeError,
)
MAX_BACKOFF_S = 5.0  # the broker back, events flow again within seconds


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
        parked: Table | None = None,
        *,
        service: str,
        poll_s: float = 0.2,
        batch_size: int = 500,
        after_publish: AfterPublish | None = None,
        read_sessions: async_sessionmaker[AsyncSession] | None = None,
        engine: AsyncEngine | None = None,
    ) -> None:
        self._sessions = sessions
        # On PostgreSQL (`engine` given) one relay of the service publishes, the others stand by.
        self.publisher = ActivePublisher(engine, service)
        self._reads = read_sessions or sessions
        self._outbox = outbox
        self._parked = parked
        self._producer = producer  # a getter: the runtime replaces the producer until Kafka answers
        self._service = service
        self._poll_s = poll_s
        self._batch_size = batch_size
        self._after_publish = after_publish  # a test's crash point
        self._wake = asyncio.Event()
        self.published = 0
        self.parked = 0
        self.last_error: str | None = None

    def wake(self) -> None:
        """Publish now rather than at the next poll (called after a commit that wrote events)."""
        self._wake.set()

    async def publish_pending(self) -> int:
        """One pass: publish up to batch_size unsent rows; returns how many were marked sent.

        Rows are read, published and marked in separate steps so no database lock is held while
        Kafka answers (or does not). Of several relays of one service only the one holding the
        publisher lock publishes (0 from the others, standing by).
        """
        pending = (
            select(self._outbox)
            .where(self._outbox.c.sent_at.is_(None))
            .order_by(self._outbox.c.id)
            .limit(self._batch_size)
        )
        # The active relay reads on its lock's session (also the check that it still holds the lock).
        rows = await self.publisher.read(pending)
        if rows is None:
            if not await self.publisher.acquire():
                return 0
            if self.publisher.locking:  # just taken: read on it; lost again at once, the next poll
                rows = await self.publisher.read(pending)
                if rows is None:
                    return 0
            else:  # SQLite: no lock session, every relay is active
                async with self._reads() as session:
                    rows = (await session.execute(pending)).all()
        if not rows:
            return 0
        sent: list[Row[Any]] = []
        parked: list[tuple[Row[Any], str]] = []
        in_flight: list[tuple[Row[Any], asyncio.Future[Any]]] = []
        failure: Exception | None = None  # a transient one: the rows from there on wait
        for row in rows:
            try:
                in_flight.append((row, await self._send(row)))
            except _UNPUBLISHABLE as exc:
                parked.append((row, f"{type(exc).__name__}: {exc}"))
            except Exception as exc:
                failure = exc
                break
        results = await asyncio.gather(*(future for _, future in in_flight), return_exceptions=True)
        for (row, _), result in zip(in_flight, results, strict=True):
            if isinstance(result, _UNPUBLISHABLE):
                parked.append((row, f"{type(result).__name__}: {result}"))
            elif isinstance(result, BaseException):  # a cancelled send is not a sent row
                failure = failure or Exception(f"{type(result).__name__}: {result}")
            else:
                sent.append(row)
        if sent and self._after_publish is not None:
            await self._after_publish([row.id for row in sent])
        await self._record(sent, parked)
        if failure is not None:
            raise failure
        return len(sent) + len(parked)

    async def _send(self, row: Row[Any]) -> asyncio.Future[Any]:
        headers = [(k, v.encode()) for k, v in json.loads(row.headers)]
        future: asyncio.Future[Any] = await self._producer().send(
            row.topic,
            value=row.payload.encode(),
            key=row.key.encode() if row.key is not None else None,
            headers=headers,
        )
        return future

    async def _record(self, sent: list[Row[Any]], parked: list[tuple[Row[Any], str]]) -> None:
        """Mark the published rows sent and move the unpublishable ones aside, in one transaction."""
        if not sent and not parked:
            return
        now = dt.datetime.now(dt.UTC)
        async with self._sessions() as session, session.begin():
            if sent:
                await session.execute(
                    update(self._outbox)
                    .where(self._outbox.c.id.in_([row.id for row in sent]))
                    .values(sent_at=now)
                )
            if parked:
                if self._parked is None:
                    raise RuntimeError(f"unpublishable outbox rows and no table to park them: {parked[0][1]}")
                await session.execute(
                    insert(self._parked),
                    [
                        {
                            "id": row.id,
                            "ce_id": row.ce_id,
                            "topic": row.topic,
                            "key": row.key,
                            "headers": row.headers,
                            "payload": row.payload,
                            "created_at": row.created_at,
                            "error": error[:2000],
                            "parked_at": now,
                        }
                        for row, error in parked
                    ],
                )
                await session.execute(
                    delete(self._outbox).where(self._outbox.c.id.in_([row.id for row, _ in parked]))
                )
        for row in sent:
            metrics.EVENTS_PUBLISHED.labels(self._service, row.topic).inc()
        for row, error in parked:
            metrics.OUTBOX_PARKED.labels(self._service, row.topic).inc()
            log.error("outbox row parked", topic=row.topic, ce_id=row.ce_id, error=error[:300])
        self.published += len(sent)
        self.parked += len(parked)

    async def run(self) -> None:
        try:
            await self._run()
        finally:  # a clean stop hands over to a standby at once
            await self.publisher.release()

    async def _run(self) -> None:
        backoff_s = 0.5
        while True:
            try:
                while await self.publish_pending() == self._batch_size:
                    pass
                self.last_error = None
                backoff_s = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Kafka down, DB busy: keep the rows, try again later
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("outbox relay pass failed", error=self.last_error, retry_in_s=backoff_s)
                await asyncio.sleep(backoff_s)
                backoff_s = min(MAX_BACKOFF_S, backoff_s * 2)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_s)
            except TimeoutError:
                pass
            self._wake.clear()
