"""The delivery worker: sends each recorded delivery at most once, retrying temporary failures.

Exactly once, by recording the delivery before and after the SMTP transaction:

1. claim: a due `pending` delivery becomes `sending` (attempts + 1) and that is COMMITTED;
2. the e-mail goes out over SMTP with a Message-ID derived from the delivery id;
3. one transaction marks it `sent` and queues `invoice.delivered` with the server's answer.

A crash between 1 and 3 leaves the delivery `sending`: nobody can tell whether the server took the
message, so it is NEVER resent automatically. Once its claim is older than `delivery_lease_s` (and
not held by this process) it becomes `unconfirmed` and `invoice.delivery_failed` says why; a user
who finds the e-mail missing asks for a new send, which always sends. A duplicate e-mail is the
worse failure for a billing product (clients pay twice), a missing one is visible and fixable.
The same reasoning applies when the connection drops during DATA with no reply: the message may
have been accepted, so that delivery is `unconfirmed`, not retried.

Temporary failures (no connection, timeouts, 4xx) go back to `pending` with a delay from the
RetryPolicy (exponential, full jitter) until `smtp_retry_for_s` since the delivery was recorded is
spent; then, like permanent failures (5xx, no recipient, a refused address), the delivery ends
`failed` with `invoice.delivery_failed` carrying the reason. Export reports follow the same path
but publish no invoice event (invoicing does not know exports); their outcome is in the log.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage

import structlog
from prometheus_client import Counter, Histogram
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_notification.adapters.orm import DeliveryKind, DeliveryRow, DeliveryStatus, KnownDocumentRow
from ledgerline_notification.adapters.smtp_sender import SendReceipt, SmtpConfig, SmtpSender
from ledgerline_notification.config import NotificationSettings
from ledgerline_notification.domain.delivery_errors import (
    DeliveryError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from ledgerline_notification.domain.message import Attachment, DocumentEmail, ExportReportEmail, build_message
from ledgerline_notification.domain.retry_policy import RetryPolicy
from ledgerline_shared.contracts.document import Document, DocumentType, Recipient
from ledgerline_shared.contracts.events import DeliveryOutcome
from ledgerline_shared.contracts.mail_address import UnsafeHeaderValue
from ledgerline_shared.document_store import DocumentStore, UnsafePath, companion_path
from ledgerline_shared.runtime import ServiceRuntime
from ledgerline_shared.topics import INVOICE_DELIVERED, INVOICE_DELIVERY_FAILED

log = structlog.get_logger(__name__)

INTERRUPTED_REASON = (
    "interrupted during the SMTP transaction; not resent to avoid a duplicate; use send to resend"
)
LOST_DURING_DATA_REASON = (
    "connection lost while the message was being transmitted, the server may have accepted it; "
    "not resent to avoid a duplicate; use send to resend"
)
SHUTDOWN_GRACE_S = 10.0  # a stopping worker lets SMTP transactions in flight finish this long
SWEEP_EVERY_S = 30.0

DELIVERY_ATTEMPTS = Counter(
    "ledgerline_delivery_attempts_total",
    "E-mail delivery attempts by outcome (sent, pending = retry later, failed, unconfirmed)",
    ["kind", "outcome"],
)
SMTP_SECONDS = Histogram("ledgerline_smtp_send_seconds", "Time of one SMTP transaction, connection included")

AfterSmtp = Callable[[DeliveryRow, SendReceipt], Awaitable[None]]


def utc(value: dt.datetime) -> dt.datetime:
    """SQLite gives naive datetimes back; every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def describe_failure(error: BaseException) -> str:
    """The reason as a user reads it: the SMTP reply and step, or just the problem before SMTP."""
    if isinstance(error, DeliveryError) and error.stage == "build":
        return error.smtp_message
    return str(error)


@dataclass(frozen=True)
class Outcome:
    status: DeliveryStatus
    smtp_response: str | None = None
    error: str | None = None
    to: tuple[str, ...] = ()
    next_attempt_at: dt.datetime | None = None
    attachment_path: str | None = None


class DeliveryWorker:
    def __init__(
        self,
        runtime: ServiceRuntime,
        settings: NotificationSettings,
        store: DocumentStore,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._runtime = runtime
        self._settings = settings
        self._store = store
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
                if loop.time() - last_sweep >= min(SWEEP_EVERY_S, max(self._settings.delivery_lease_s, 1.0)):
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
        self._inflight.update(tasks)
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
        now = dt.datetime.now(dt.UTC)
        async with self._runtime.sessions() as session, session.begin():
            due = (
                await session.scalars(
                    select(DeliveryRow)
                    .where(
                        DeliveryRow.status == DeliveryStatus.PENDING.value,
                        DeliveryRow.next_attempt_at <= now,
                    )
                    .order_by(DeliveryRow.next_attempt_at)
                    .limit(self._settings.delivery_batch)
                )
            ).all()
            claimed: list[DeliveryRow] = []
            for row in due:
                # Conditional: another worker process may have taken it since the select.
                result = await session.execute(
                    update(DeliveryRow)
                    .where(DeliveryRow.id == row.id, DeliveryRow.status == DeliveryStatus.PENDING.value)
                    .values(
                        status=DeliveryStatus.SENDING.value,
                        attempts=DeliveryRow.attempts + 1,
                        claimed_by=self.instance_id,
                        claimed_at=now,
                    )
                    .execution_options(synchronize_session=False)
                )
                if getattr(result, "rowcount", 0) == 1:
                    claimed.append(row)
        for row in claimed:
            row.attempts += 1  # the committed value, without reading the row again
        return claimed

    async def _deliver(self, row: DeliveryRow) -> None:
        outcome: Outcome
        attachment_path = row.attachment_path
        try:
            message, attachment_path = await self._build(row)
        except (DeliveryError, UnsafeHeaderValue) as exc:
            outcome = self._failure(row, exc, attachment_path)  # nothing reached the server
        except Exception as exc:
            log.exception("building a delivery failed", delivery=str(row.id))
            error = TemporaryDeliveryError(f"{type(exc).__name__}: {exc}", stage="build")
            outcome = self._failure(row, error, None)
        else:
            outcome = await self._send(row, message, attachment_path)
        await self._record(row, outcome)

    async def _send(self, row: DeliveryRow, message: EmailMessage, attachment_path: str | None) -> Outcome:
        if self._sender is None:
            raise RuntimeError("the delivery worker is not open")
        try:
            with SMTP_SECONDS.time():
                receipt = await self._sender.send(message)
        except DeliveryError as exc:
            self.last_smtp_error = str(exc)
            if isinstance(exc, TemporaryDeliveryError) and exc.stage == "data" and exc.smtp_code is None:
                return Outcome(
                    DeliveryStatus.UNCONFIRMED,
                    error=f"{LOST_DURING_DATA_REASON} ({exc})",
                    attachment_path=attachment_path,
                )
            return self._failure(row, exc, attachment_path)
        self.last_smtp_error = None
        if self.after_smtp is not None:
            await self.after_smtp(row, receipt)
        response = receipt.response
        if receipt.refused:
            refused = "; ".join(f"{address}: {reply}" for address, reply in receipt.refused.items())
            response = f"{response} (refused: {refused})"
        return Outcome(
            DeliveryStatus.SENT,
            smtp_response=response,
            to=receipt.recipients,
            attachment_path=attachment_path,
        )

    def _failure(self, row: DeliveryRow, error: BaseException, attachment_path: str | None) -> Outcome:
        elapsed = (dt.datetime.now(dt.UTC) - utc(row.created_at)).total_seconds()
        if self._policy.should_retry(error, elapsed):
            delay = self._policy.next_delay(row.attempts, self._rng, elapsed)
            return Outcome(
                DeliveryStatus.PENDING,
                error=describe_failure(error),
                next_attempt_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay),
                attachment_path=attachment_path,
            )
        reason = describe_failure(error)
        if isinstance(error, TemporaryDeliveryError):
            reason = f"gave up after {row.attempts} attempts in {elapsed:.0f} s: {reason}"
        return Outcome(DeliveryStatus.FAILED, error=reason, attachment_path=attachment_path)

    # -- the e-mail ---------------------------------------------------------------------------
    async def _build(self, row: DeliveryRow) -> tuple[EmailMessage, str | None]:
        sender, reply_to = self._settings.smtp_sender, self._settings.mail_reply_to
        if row.kind == DeliveryKind.EXPORT.value:
            return build_message(self._export_mail(row), sender=sender), row.attachment_path
        async with self._runtime.read_sessions() as session:
            known = await session.get(KnownDocumentRow, row.number)
        path = row.attachment_path or (known.pdf_path if known else None)
        if known is None or path is None:
            raise TemporaryDeliveryError(f"document {row.number} has not been rendered yet", stage="build")
        mail = DocumentEmail(
            delivery_id=row.id,
            document_type=DocumentType(known.type),
            number=row.number,
            pdf=self._read(path),
            recipients=[Recipient.model_construct(name=r["name"], email=r["email"]) for r in row.recipients],
            language=row.language,
            issue_date=known.issue_date,
            document=self._rendered_document(path),
        )
        return build_message(mail, sender=sender, reply_to=reply_to), path

    def _rendered_document(self, pdf_path: str) -> Document | None:
        """The JSON rendered with this very PDF: the e-mail's figures are the attachment's."""
        json_path = companion_path(pdf_path, ".json")
        try:
            return Document.model_validate_json(self._store.read(json_path))
        except (OSError, UnsafePath, ValidationError) as exc:
            # Still worth sending (the PDF says it all), but say why the e-mail is thin.
            log.warning("no rendered JSON beside the PDF", path=json_path, error=str(exc))
            return None

    def _export_mail(self, row: DeliveryRow) -> ExportReportEmail:
        details = row.details or {}
        attachment = None
        if row.attachment_path:
            try:
                local = self._store.local_path(row.attachment_path)
            except UnsafePath as exc:
                refused = f"export path {row.attachment_path} is outside the document store"
                raise PermanentDeliveryError(refused, stage="build") from exc
            if not local.is_file():
                raise PermanentDeliveryError(f"export file {row.attachment_path} is missing", stage="build")
            if local.stat().st_size <= self._settings.export_attachment_max_bytes:
                attachment = Attachment.from_file_name(local.name, self._read(row.attachment_path))
        return ExportReportEmail(
            delivery_id=row.id,
            requested_by=row.recipients[0]["email"] if row.recipients else "",
            kind=str(details.get("kind", "")),
            rows=int(details.get("rows", 0)),
            report=str(details.get("report", "")),
            format=details.get("format"),
            attachment=attachment,
            language=row.language,
        )

    def _read(self, path: str) -> bytes:
        try:
            return self._store.read(path)
        except (FileNotFoundError, UnsafePath) as exc:
            raise PermanentDeliveryError(f"file {path} is not in the document store", stage="build") from exc

    # -- after SMTP ---------------------------------------------------------------------------
    async def _record(self, row: DeliveryRow, outcome: Outcome) -> None:
        """Write the outcome, retrying while the database is away: a claim of this process must
        end, or the delivery would stay `sending` until another process reports it interrupted."""
        delay = 0.2
        while True:
            try:
                async with self._runtime.sessions() as session, session.begin():
                    await self._apply(session, row, outcome)
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("recording a delivery outcome failed", delivery=str(row.id), error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        self._runtime.relay.wake()
        DELIVERY_ATTEMPTS.labels(row.kind, outcome.status.value).inc()
        log.info(
            "delivery attempt",
            delivery=str(row.id),
            number=row.number,
            status=outcome.status.value,
            attempt=row.attempts,
            error=outcome.error,
        )

    async def _apply(self, session: AsyncSession, row: DeliveryRow, outcome: Outcome) -> None:
        now = dt.datetime.now(dt.UTC)
        values: dict[str, object] = {
            "status": outcome.status.value,
            "error": outcome.error,
            "claimed_by": None,
            "attachment_path": outcome.attachment_path or row.attachment_path,
        }
        if outcome.status is DeliveryStatus.PENDING:
            values["next_attempt_at"] = outcome.next_attempt_at or now
        else:
            values["finished_at"] = now
        if outcome.status is DeliveryStatus.SENT:
            values.update(smtp_response=outcome.smtp_response, sent_at=now)
        result = await session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id == row.id, DeliveryRow.status == DeliveryStatus.SENDING.value)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            # Another process already settled it (reported it unconfirmed after our lease ran out):
            # its event stands, and the delivery is never announced twice.
            return
        if outcome.status is DeliveryStatus.SENT:
            await self._publish(
                session, row, INVOICE_DELIVERED, now, to=list(outcome.to), smtp_response=outcome.smtp_response
            )
        elif outcome.status in (DeliveryStatus.FAILED, DeliveryStatus.UNCONFIRMED):
            await self._publish(session, row, INVOICE_DELIVERY_FAILED, now, error=outcome.error)

    async def _publish(
        self,
        session: AsyncSession,
        row: DeliveryRow,
        topic: str,
        at: dt.datetime,
        *,
        to: list[str] | None = None,
        smtp_response: str | None = None,
        error: str | None = None,
    ) -> None:
        if row.kind != DeliveryKind.DOCUMENT.value:
            return  # an export's report: the delivery log is its record
        outcome = DeliveryOutcome(
            request_id=row.request_id,
            number=row.number,
            to=to if to is not None else [r["email"] for r in row.recipients],
            at=at,
            smtp_response=smtp_response,
            error=error,
        )
        await self._runtime.emit(session, topic, row.number, outcome)

    # -- interrupted transactions -------------------------------------------------------------
    async def report_interrupted(self) -> int:
        """Deliveries another (dead) process left `sending` past the lease: `unconfirmed`, reported."""
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=self._settings.delivery_lease_s)
        reported = 0
        async with self._runtime.sessions() as session, session.begin():
            stale = (
                await session.scalars(
                    select(DeliveryRow).where(
                        DeliveryRow.status == DeliveryStatus.SENDING.value,
                        DeliveryRow.claimed_at <= cutoff,
                        (DeliveryRow.claimed_by != self.instance_id) | DeliveryRow.claimed_by.is_(None),
                    )
                )
            ).all()
            now = dt.datetime.now(dt.UTC)
            for row in stale:
                row.status = DeliveryStatus.UNCONFIRMED.value
                row.error = INTERRUPTED_REASON
                row.finished_at = now
                row.claimed_by = None
                await self._publish(session, row, INVOICE_DELIVERY_FAILED, now, error=INTERRUPTED_REASON)
                reported += 1
        if reported:
            log.warning("deliveries interrupted during SMTP reported, not resent", count=reported)
            self._runtime.relay.wake()
        return reported
