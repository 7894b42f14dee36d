"""The delivery worker: sends each recorded delivery at most once, retrying temporary failures.

Exactly once, by recording the delivery before and after the SMTP transaction:

1. claim: a due `pending` delivery becomes `sending` (attempts + 1) and that is COMMITTED;
2. the e-mail goes out over SMTP with a Message-ID derived from the delivery id;
3. one transaction marks it `sent` and queues `invoice.delivered` with the server's answer.

A crash between 1 and 3 leaves the delivery `sending`: nobody can tell whether the server took the
message, so it is NEVER resent automatically. Once its claim is older than `delivery_lease_s` (and
not held by this process) it becomes `unconfirmed` and `invoice.delivery_failed` says why; a user
who finds the e-mail missing asks for a new send, which always sends. The outcome of an attempt,
retry, give-up, `unconfirmed` and the event it announces are domain/delivery_rules; the claims and
the conditional outcome writes are adapters/delivery_repository; the e-mail is service/delivery_mail.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from typing import TypeVar

import structlog

from ledgerline_notification.adapters.orm import DeliveryRow
from ledgerline_notification.adapters.smtp_sender import SendReceipt, SmtpConfig, SmtpSender
from ledgerline_notification.config import NotificationSettings
from ledgerline_notification.domain import delivery_rules as rules
from ledgerline_notification.domain.delivery_errors import DeliveryError, TemporaryDeliveryError
from ledgerline_notification.domain.delivery_rules import INTERRUPTED_REASON, Outcome
from ledgerline_notification.domain.retry_policy import RetryPolicy
from ledgerline_notification.service.delivery_mail import DeliveryMail
from ledgerline_notification.service.unit_of_work import NotificationUnitOfWork
from ledgerline_shared.contracts.mail_address import UnsafeHeaderValue
from ledgerline_shared.document_store import DocumentStore
from ledgerline_shared.observability import tracing
from ledgerline_shared.observability.metrics import DELIVERY_ATTEMPTS, SMTP_SECONDS

log = structlog.get_logger(__name__)
T = TypeVar("T")

SHUTDOWN_GRACE_S = 10.0  # a stopping worker lets SMTP transactions in flight finish this long

AfterSmtp = Callable[[DeliveryRow, SendReceipt], Awaitable[None]]
UnitsOfWork = Callable[[], NotificationUnitOfWork]

__all__ = ["INTERRUPTED_REASON", "DeliveryWorker"]


class ClaimLost(RuntimeError):
    """This process's claim outlived its lease and another process settled the delivery."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _count_attempt(uow: NotificationUnitOfWork, row: DeliveryRow, outcome: Outcome) -> None:
    """`ledgerline_delivery_attempts_total`, once the outcome committed (an outcome another process
    settled first is its to count)."""
    kind, status = row.kind, outcome.status.value
    uow.after_commit(lambda: DELIVERY_ATTEMPTS.labels(kind, status).inc())


async def _while_the_database_is_away(job: Callable[[], Awaitable[T]], what: str, row: DeliveryRow) -> T:
    """`job` again (0.2 s, then doubling up to 10 s) until the database answers: a claim's steps must
    reach it, or the delivery stays `sending` until another process takes it over."""
    delay = 0.2
    while True:
        try:
            return await job()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(f"{what} failed", delivery=str(row.id), error=str(exc))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


def _attempt(row: DeliveryRow, attachment_path: str | None) -> rules.Attempt:
    return rules.Attempt(attempts=row.attempts, created_at=row.created_at, attachment_path=attachment_path)


class DeliveryWorker:
    def __init__(
        self,
        units: UnitsOfWork,
        reading: UnitsOfWork,
        settings: NotificationSettings,
        store: DocumentStore,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._units = units  # a unit of work per transaction; its commit wakes the outbox relay
        self._settings = settings
        self._mail = DeliveryMail(reading, settings, store)
        self._policy = RetryPolicy.from_settings(
            settings, base_delay_s=settings.smtp_retry_base_s, max_delay_s=settings.smtp_retry_max_delay_s
        )
        self._rng = rng or random.SystemRandom()
        self._smtp = SmtpConfig.from_settings(settings)
        self._sender: SmtpSender | None = None
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self.instance_id = str(uuid.uuid4())  # whose claims are whose, across processes
        self.last_smtp_error: str | None = None
        # Test seam: runs after the server accepted a message, before the outcome is recorded.
        self.after_smtp: AfterSmtp | None = None

    # -- lifecycle -------------------------------------------------------------------------
    async def open(self) -> None:
        self._sender = SmtpSender(self._smtp, pool_size=max(1, self._settings.smtp_connections))

    async def close(self) -> None:
        if self._sender is not None:
            await self._sender.aclose()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """The background job: sweep interrupted deliveries, then send what is due, forever."""
        last_sweep = 0.0
        loop = asyncio.get_running_loop()
        try:
            while True:
                if loop.time() - last_sweep >= rules.sweep_interval(self._settings.delivery_lease_s):
                    await self._guarded(self.report_interrupted())
                    last_sweep = loop.time()
                claimed = await self._guarded(self.run_once()) or 0
                if claimed:
                    continue  # there may be more due right away
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self._settings.delivery_poll_s)
                except TimeoutError:
                    pass
        except asyncio.CancelledError:
            # Let transactions in flight finish, so a plain restart leaves nothing unconfirmed.
            if self._inflight:
                await asyncio.wait(self._inflight, timeout=SHUTDOWN_GRACE_S)
            raise

    async def _guarded(self, job: Awaitable[int]) -> int | None:
        try:
            return await job
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database went away: keep the loop alive, try again later
            log.warning("delivery worker round failed", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(self._settings.delivery_poll_s)
            return None

    # -- one round ----------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Claim the due deliveries (committed), send them concurrently, record each outcome."""
        claimed = await self._claim()
        if not claimed:
            return 0
        tasks = [asyncio.create_task(self._deliver(row), name=f"delivery-{row.id}") for row in claimed]
        self._inflight |= set(tasks)
        for task in tasks:
            task.add_done_callback(self._inflight.discard)
        # Shielded: a cancelled round must not cut a transaction between the claim and the record.
        results = await asyncio.shield(asyncio.gather(*tasks, return_exceptions=True))
        for row, result in zip(claimed, results, strict=True):
            if isinstance(result, BaseException):
                # Left `sending`: reported as interrupted by the next process, never resent.
                log.error("delivery stopped unexpectedly", delivery=str(row.id), error=repr(result))
        return len(claimed)

    async def _claim(self) -> list[DeliveryRow]:
        async with self._units() as uow:
            claimed = await uow.deliveries.claim_due_deliveries(
                _now(), self._settings.delivery_batch, self.instance_id
            )
            await uow.commit()
        for row in claimed:
            row.attempts += 1  # the committed value, without reading the row again
        return claimed

    async def _deliver(self, row: DeliveryRow) -> None:
        # In the trace of the work that recorded the delivery (a document's `document.rendered`): the
        # send, its log lines and the `invoice.delivered` it announces belong to that document's trace.
        attributes = {"ledgerline.delivery.id": str(row.id), "ledgerline.document.number": row.number}
        with tracing.span("deliver e-mail", parent=row.trace_context, attributes=attributes):
            await self._deliver_in_trace(row)

    async def _deliver_in_trace(self, row: DeliveryRow) -> None:
        outcome: Outcome
        attachment_path = row.attachment_path
        try:
            message, attachment_path = await self._mail.build(row)
        except (DeliveryError, UnsafeHeaderValue) as exc:
            outcome = self._failure(row, exc, attachment_path)  # nothing reached the server
        except Exception as exc:
            log.exception("building a delivery failed", delivery=str(row.id))
            error = TemporaryDeliveryError(f"{type(exc).__name__}: {exc}", stage="build")
            outcome = self._failure(row, error, None)
        else:
            try:
                outcome = await self._send(row, message, attachment_path)
            except ClaimLost as exc:
                log.warning(
                    "delivery not sent: its claim was taken over", delivery=str(row.id), error=str(exc)
                )
                return
        await self._record(row, outcome)

    async def _send(self, row: DeliveryRow, message: EmailMessage, attachment_path: str | None) -> Outcome:
        if self._sender is None:
            raise RuntimeError("the delivery worker is not open")

        async def transaction_begins() -> None:
            # Marked once this message has its SMTP connection, not while it waits for one: a whole
            # claimed batch marked up front was all `unconfirmed` after a kill (75 deliveries in one
            # CI run of the cluster fault test), though only those in a transaction may have left.
            if not await self._mark_smtp_started(row):
                # Another process settled this claim (ours outlived its lease): not ours to send.
                raise ClaimLost(f"delivery {row.id} is no longer claimed by {self.instance_id}")

        try:
            with SMTP_SECONDS.time():
                receipt = await self._sender.send(message, before_transaction=transaction_begins)
        except DeliveryError as exc:
            self.last_smtp_error = str(exc)
            return _attempt(row, attachment_path).smtp_failed(exc, _now(), self._policy, self._rng)
        self.last_smtp_error = None
        if self.after_smtp is not None:
            await self.after_smtp(row, receipt)
        return _attempt(row, attachment_path).sent(receipt.response, receipt.recipients, receipt.refused)

    async def _mark_smtp_started(self, row: DeliveryRow) -> bool:
        """Committed before the SMTP transaction begins, retried while the database is away: from
        here on an interruption may have sent the e-mail (domain/delivery_rules.interrupted)."""

        async def mark() -> bool:
            async with self._units() as uow:
                mine = await uow.deliveries.mark_smtp_started(row.id, self.instance_id, _now())
                await uow.commit()
            return bool(mine)

        return await _while_the_database_is_away(mark, "marking a delivery's SMTP start", row)

    def _failure(self, row: DeliveryRow, error: BaseException, attachment_path: str | None) -> Outcome:
        return _attempt(row, attachment_path).failed(error, _now(), self._policy, self._rng)

    # -- after SMTP ---------------------------------------------------------------------------
    async def _record(self, row: DeliveryRow, outcome: Outcome) -> None:
        """Write the outcome, retrying while the database is away: a claim of this process must
        end, or the delivery would stay `sending` until another process reports it interrupted."""
        await _while_the_database_is_away(
            lambda: self._settle(row, outcome), "recording a delivery outcome", row
        )
        log.info(
            "delivery attempt",
            delivery=str(row.id),
            number=row.number,
            status=outcome.status.value,
            attempt=row.attempts,
            error=outcome.error,
        )

    async def _settle(self, row: DeliveryRow, outcome: Outcome) -> None:
        """The outcome and its event in one transaction; the commit wakes the outbox relay."""
        async with self._units() as uow:
            now = _now()
            settled = await uow.deliveries.record_attempt(
                row.id, outcome, attachment_path=row.attachment_path, at=now
            )
            # Not settled: another process already did (it reported the delivery unconfirmed after
            # our lease ran out): its event stands, and the delivery is never announced twice.
            if settled:
                self._announce(uow, row, outcome, now)
                _count_attempt(uow, row, outcome)
            await uow.commit()

    def _announce(
        self, uow: NotificationUnitOfWork, row: DeliveryRow, outcome: Outcome, at: dt.datetime
    ) -> None:
        topic = rules.announcement(row.kind, outcome.status)
        if topic is None:
            return  # a retry later, or an export's report (the delivery log is its record)
        event = rules.delivery_outcome(
            request_id=row.request_id, number=row.number, recipients=row.recipients, outcome=outcome, at=at
        )
        uow.emit(topic, row.number, event)

    # -- interrupted transactions -------------------------------------------------------------
    async def report_interrupted(self) -> int:
        """Deliveries another (dead) process left `sending` past the lease: `unconfirmed`, reported."""
        cutoff = rules.lease_cutoff(_now(), self._settings.delivery_lease_s)
        async with self._units() as uow:
            stale = await uow.deliveries.expired_claims(cutoff, not_held_by=self.instance_id)
            now = _now()
            for row in stale:
                outcome = rules.interrupted(smtp_started=row.smtp_started_at is not None, now=now)
                await uow.deliveries.take_over(row, outcome, now)
                with tracing.span("report interrupted delivery", parent=row.trace_context):
                    self._announce(uow, row, outcome, now)
                _count_attempt(uow, row, outcome)
            await uow.commit()
        if stale:
            unconfirmed = sum(1 for row in stale if row.smtp_started_at is not None)
            log.warning(
                "interrupted deliveries taken over",
                unconfirmed_not_resent=unconfirmed,
                due_again=len(stale) - unconfirmed,
            )
        return len(stale)
