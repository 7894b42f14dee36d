"""The idempotent consumer with retries and dead letters.

For each message: parse the CloudEvents headers and the payload; skip it if its ce_id was already
processed by this consumer; otherwise run the handler and record the ce_id in the SAME transaction,
then let FastStream commit the offset (ack policy NACK_ON_ERROR: the offset moves only after the
handler returned).

Failures are classified (messaging/failures.py). What will never succeed (a malformed message, a
PermanentError) goes at once to `<topic>.dlq` with the error in its headers, is recorded for the
dashboard's replay, and the partition moves on. An infrastructure failure (database or render pool
briefly away) is not the message's fault: the partition is paused, rewound to the message (nothing
committed) and resumed after a growing backoff, so later events of the same key wait behind it;
only when the retry budget (minutes, `LEDGERLINE_CONSUMER_RETRY_BUDGET_S`) is spent is the message
dead-lettered. Any other error is retried a few times in place, then dead-lettered. If the dead
letter itself cannot be written, the message is rewound and read again rather than lost.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faststream import AckPolicy
from faststream.exceptions import NackMessage
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import BaseModel, ValidationError
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledgerline_shared.cloudevents import Envelope, NotACloudEvent, decode_headers, parse_envelope
from ledgerline_shared.messaging.failures import RetryLater, is_transient
from ledgerline_shared.messaging.tables import MessagingTables
from ledgerline_shared.observability import context, metrics, tracing
from ledgerline_shared.topics import dead_letter_topic

log = structlog.get_logger(__name__)

T = TypeVar("T", bound=BaseModel)


@dataclass
class Inbound(Generic[T]):
    envelope: Envelope
    data: T
    key: str | None
    topic: str
    partition: int
    offset: int
    prepared: Any = None  # what `prepare` computed before the transaction
    # Run once the handler's transaction has committed (start a job the transaction created).
    after_commit: list[Callable[[], None]] = field(default_factory=list)


Handler = Callable[[Inbound[T], AsyncSession], Awaitable[None]]
# Slow work with no database effect (rendering a PDF): done before the transaction opens, so no
# database lock is held meanwhile. Skipped for an event already processed.
Prepare = Callable[[Inbound[T]], Awaitable[Any]]


class PermanentError(Exception):
    """The message can never succeed (bad content, a rule refuses it): dead-letter it at once."""


@dataclass
class _Retrying:
    """A message whose handler failed for a transient reason, between its redeliveries."""

    first_failed_at: float
    attempts: int = 0


@dataclass
class TopicStats:
    handled: int = 0
    duplicates: int = 0
    failed: int = 0
    dead_lettered: int = 0
    last_at: dt.datetime | None = None


@dataclass
class ConsumerStats:
    """What the dashboard shows: counts per topic and the last few outcomes."""

    topics: dict[str, TopicStats] = field(default_factory=dict)
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=50))

    def on(self, topic: str) -> TopicStats:
        return self.topics.setdefault(topic, TopicStats())

    def note(self, topic: str, outcome: str, ce_id: str | None, detail: str = "") -> None:
        self.recent.appendleft(
            {
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "topic": topic,
                "outcome": outcome,
                "ce_id": ce_id,
                "detail": detail[:300],
            }
        )


async def _keep_raw(message: Any) -> bytes:
    """FastStream would json-decode the body itself and loop on a malformed one: we decode (and
    dead-letter what fails) in handle_record instead."""
    body: bytes = message.body
    return body


class EventConsumer:
    def __init__(
        self,
        *,
        service: str,
        sessions: async_sessionmaker[AsyncSession],
        tables: MessagingTables,
        producer: Callable[[], AIOKafkaProducer],
        retries: int = 3,
        backoff_s: float = 0.2,
        retry_budget_s: float = 900.0,
        max_backoff_s: float = 30.0,
        on_committed: Callable[[], None] | None = None,
        read_sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self.service = service
        self._sessions = sessions
        self._reads = read_sessions or sessions
        self._tables = tables
        self._producer = producer
        self._retries = retries
        self._backoff_s = backoff_s
        self._retry_budget_s = retry_budget_s
        self._max_backoff_s = max_backoff_s
        # (consumer, topic, partition, offset, ce_id) -> transient failures so far: the message comes back
        # by a rewind, and its budget counts from its first failure.
        self._retrying: dict[tuple[str, str, int, int, str], _Retrying] = {}
        self._on_committed = on_committed  # e.g. wake the outbox relay
        self.stats = ConsumerStats()
        self.subscriptions: list[tuple[str, str]] = []  # (topic, group id)

    def subscribe(
        self,
        broker: KafkaBroker,
        topic: str,
        model: type[T],
        handler: Handler[T],
        *,
        name: str | None = None,
        prepare: Prepare[T] | None = None,
        instances: int = 1,
    ) -> None:
        """Register `handler` for `topic` in consumer group `<service>.<name>`.

        `instances` consumers join the same group: each gets its share of the partitions and
        handles them one message at a time, so order per partition and commit-after-work hold.
        """
        consumer_name = f"{self.service}.{name or topic}"
        self.subscriptions.append((topic, consumer_name))
        for _ in range(instances):

            async def on_message(message: KafkaMessage) -> None:
                record: Any = message.raw_message  # one ConsumerRecord: these subscribers are not batches
                try:
                    await self.handle_record(record, model, handler, consumer_name, prepare)
                except RetryLater as later:
                    _pause_partition(message.consumer, record.topic, record.partition, later.delay_s)
                    raise NackMessage() from later  # FastStream rewinds the partition to this message

            broker.subscriber(
                topic,
                group_id=consumer_name,
                ack_policy=AckPolicy.NACK_ON_ERROR,
                auto_offset_reset="earliest",
                decoder=_keep_raw,
            )(on_message)

    async def handle_record(
        self,
        record: Any,
        model: type[T],
        handler: Handler[T],
        consumer_name: str,
        prepare: Prepare[T] | None = None,
    ) -> None:
        topic: str = record.topic
        headers = decode_headers(record.headers or [])
        raw_value: bytes = record.value or b""
        key = record.key.decode("utf-8", "replace") if record.key is not None else None
        try:
            envelope = parse_envelope(headers)
            data = model.model_validate_json(raw_value)
        except (NotACloudEvent, ValidationError, ValueError) as exc:
            await self._dead_letter(record, headers, consumer_name, f"invalid message: {exc}")
            self.stats.on(topic).dead_lettered += 1
            return
        context.bind(correlation_id=envelope.correlation_id, event_id=envelope.id)
        # One span per message, a child of the trace the event carries: the handler's logs and the
        # events it emits belong to that trace.
        span_attributes = {
            "messaging.consumer.group.name": consumer_name,
            "messaging.message.id": envelope.id,
            "messaging.destination.partition.id": str(record.partition),
            "messaging.kafka.offset": record.offset,
        }
        with tracing.consumer_span(topic, envelope.trace_carrier(), span_attributes):
            await self._handle_parsed(record, headers, envelope, data, key, handler, consumer_name, prepare)

    async def _handle_parsed(
        self,
        record: Any,
        headers: dict[str, str],
        envelope: Envelope,
        data: T,
        key: str | None,
        handler: Handler[T],
        consumer_name: str,
        prepare: Prepare[T] | None,
    ) -> None:
        topic: str = record.topic
        stats = self.stats.on(topic)
        started = time.perf_counter()
        inbound = Inbound(envelope, data, key, topic, record.partition, record.offset)
        retry_key = (consumer_name, topic, record.partition, record.offset, envelope.id)
        error = ""
        for attempt in range(1, self._retries + 1):
            try:
                if prepare is not None and inbound.prepared is None:
                    if await self._already_processed(inbound.envelope.id, consumer_name):
                        applied = False
                    else:
                        inbound.prepared = await prepare(inbound)
                        applied = await self._apply_once(inbound, handler, consumer_name)
                else:
                    applied = await self._apply_once(inbound, handler, consumer_name)
            except PermanentError as exc:
                error = f"{type(exc).__name__}: {exc}"
                break
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                stats.failed += 1
                metrics.MESSAGES_HANDLED.labels(self.service, topic, "retried").inc()
                log.warning("handler failed", topic=topic, attempt=attempt, error=error, ce_id=envelope.id)
                if is_transient(exc):
                    await self._retry_later(record, headers, consumer_name, retry_key, error)
                    return  # the retry budget is spent: dead-lettered
                if attempt < self._retries:
                    await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
                continue
            self._retrying.pop(retry_key, None)
            outcome = "ok" if applied else "duplicate"
            if applied:
                stats.handled += 1
            else:
                stats.duplicates += 1
            stats.last_at = dt.datetime.now(dt.UTC)
            metrics.MESSAGES_HANDLED.labels(self.service, topic, outcome).inc()
            metrics.HANDLER_SECONDS.labels(self.service, topic).observe(time.perf_counter() - started)
            self.stats.note(topic, outcome, envelope.id)
            log.info("event handled", topic=topic, outcome=outcome, ce_id=envelope.id, key=key)
            if applied and self._on_committed is not None:
                self._on_committed()
            return
        self._retrying.pop(retry_key, None)
        await self._dead_letter(record, headers, consumer_name, error)
        stats.dead_lettered += 1

    async def _retry_later(
        self,
        record: Any,
        headers: dict[str, str],
        consumer_name: str,
        retry_key: tuple[str, str, int, int, str],
        error: str,
    ) -> None:
        """Raise RetryLater with the next backoff, or dead-letter once the retry budget is spent."""
        now = time.monotonic()
        state = self._retrying.setdefault(retry_key, _Retrying(now))
        state.attempts += 1
        waited = now - state.first_failed_at
        if waited >= self._retry_budget_s:
            await self._dead_letter(
                record, headers, consumer_name, f"retry budget of {self._retry_budget_s:g} s spent: {error}"
            )
            self._retrying.pop(retry_key, None)
            self.stats.on(record.topic).dead_lettered += 1
            return
        delay = min(self._max_backoff_s, self._backoff_s * 2 ** (state.attempts - 1))
        delay = max(0.0, min(delay, self._retry_budget_s - waited))
        self.stats.note(record.topic, "retrying", headers.get("ce_id"), f"in {delay:.1f} s: {error}")
        raise RetryLater(delay, error)

    async def _already_processed(self, ce_id: str, consumer_name: str) -> bool:
        processed = self._tables.processed
        async with self._reads() as session:
            found = await session.scalar(
                select(processed.c.ce_id).where(
                    processed.c.consumer == consumer_name, processed.c.ce_id == ce_id
                )
            )
        return found is not None

    async def _apply_once(self, inbound: Inbound[T], handler: Handler[T], consumer_name: str) -> bool:
        processed = self._tables.processed
        # Callbacks of an attempt that rolled back must not run after a later attempt commits.
        inbound.after_commit = []
        async with self._sessions() as session:
            async with session.begin():
                seen = await session.scalar(
                    select(processed.c.ce_id).where(
                        processed.c.consumer == consumer_name, processed.c.ce_id == inbound.envelope.id
                    )
                )
                if seen is not None:
                    return False
                await handler(inbound, session)
                # A concurrent worker that applied it first makes this insert fail on the primary
                # key, and the whole transaction, effect included, rolls back.
                await session.execute(
                    insert(processed).values(
                        consumer=consumer_name,
                        ce_id=inbound.envelope.id,
                        topic=inbound.topic,
                        processed_at=dt.datetime.now(dt.UTC),
                    )
                )
        for callback in inbound.after_commit:
            callback()
        return True

    async def _dead_letter(
        self, record: Any, headers: dict[str, str], consumer_name: str, error: str
    ) -> None:
        """Park the message in `<topic>.dlq` and the dead-letter table; if either cannot be
        written now, the message is read again later (RetryLater) rather than lost."""
        try:
            await self._write_dead_letter(record, headers, consumer_name, error)
        except Exception as exc:
            log.error("dead letter not written", topic=record.topic, error=f"{type(exc).__name__}: {exc}")
            raise RetryLater(min(self._max_backoff_s, 1.0), f"dead letter not written: {exc}") from exc

    async def _write_dead_letter(
        self, record: Any, headers: dict[str, str], consumer_name: str, error: str
    ) -> None:
        topic: str = record.topic
        dlq_headers = [(k, v.encode()) for k, v in headers.items() if not k.startswith("dlq_")]
        dlq_headers += [
            ("dlq_error", error[:2000].encode()),
            ("dlq_consumer", consumer_name.encode()),
            ("dlq_original_topic", topic.encode()),
            ("dlq_original_partition", str(record.partition).encode()),
            ("dlq_original_offset", str(record.offset).encode()),
            ("dlq_failed_at", dt.datetime.now(dt.UTC).isoformat().encode()),
        ]
        # The table first: while the database is away nothing is sent, so the message is not
        # copied to `<topic>.dlq` again at each redelivery.
        async with self._sessions() as session, session.begin():
            await session.execute(
                insert(self._tables.dead_letters).values(
                    consumer=consumer_name,
                    topic=topic,
                    partition=record.partition,
                    offset=record.offset,
                    ce_id=headers.get("ce_id"),
                    key=record.key.decode("utf-8", "replace") if record.key is not None else None,
                    headers=json.dumps(headers),
                    payload=(record.value or b"").decode("utf-8", "replace"),
                    error=error,
                    failed_at=dt.datetime.now(dt.UTC),
                )
            )
        await self._producer().send_and_wait(
            dead_letter_topic(topic), value=record.value, key=record.key, headers=dlq_headers
        )
        metrics.MESSAGES_HANDLED.labels(self.service, topic, "dead_lettered").inc()
        self.stats.note(topic, "dead_lettered", headers.get("ce_id"), error)
        log.error("message dead-lettered", topic=topic, error=error, ce_id=headers.get("ce_id"))


def _pause_partition(consumer: Any, topic: str, partition: int, delay_s: float) -> None:
    """Fetch nothing more from this partition for `delay_s` seconds (the other partitions go on)."""
    if not isinstance(consumer, AIOKafkaConsumer):
        return
    tp = TopicPartition(topic, partition)
    consumer.pause(tp)

    def resume() -> None:
        try:
            if tp in consumer.assignment():  # a rebalance may have taken it away meanwhile
                consumer.resume(tp)
        except Exception as exc:  # the consumer stopped: nothing to resume
            log.info("partition not resumed", topic=topic, partition=partition, error=str(exc))

    asyncio.get_running_loop().call_later(delay_s, resume)
