"""The outcome of one delivery attempt, and what it announces (spec section 7). Pure: the clock
(`now`) and the random source are the caller's.

- Sent: `invoice.delivered` with the server's answer (and the recipients it refused, if some).
- Lost during DATA with no reply: the server may have accepted the message, so `unconfirmed`,
  never retried: a duplicate invoice is the worse failure (clients pay twice).
- Temporary failures go back to `pending` after a RetryPolicy delay while `smtp_retry_for_s` since
  the delivery was recorded lasts; then, like permanent failures, `failed`.
- A claim older than the lease, held by another process, was interrupted: if its SMTP transaction had
  begun, `unconfirmed`, reported, never resent (a user who finds the e-mail missing asks for a new
  send); if not, nothing reached the server and it goes back to `pending`, sent as if never claimed.
- Failed and unconfirmed announce `invoice.delivery_failed`. An export's report announces
  nothing (invoicing does not know exports): the delivery log is its record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ledgerline_notification.domain.delivery import DeliveryKind, DeliveryStatus
from ledgerline_notification.domain.delivery_errors import DeliveryError, TemporaryDeliveryError
from ledgerline_notification.domain.retry_policy import RetryPolicy, UniformSource
from ledgerline_shared.contracts.events import DeliveryOutcome
from ledgerline_shared.topics import INVOICE_DELIVERED, INVOICE_DELIVERY_FAILED

INTERRUPTED_REASON = (
    "interrupted during the SMTP transaction; not resent to avoid a duplicate; use send to resend"
)
LOST_DURING_DATA_REASON = (
    "connection lost while the message was being transmitted, the server may have accepted it; "
    "not resent to avoid a duplicate; use send to resend"
)
NOT_STARTED_REASON = "its worker stopped before the SMTP transaction began; sent again"
SWEEP_EVERY_S = 30.0  # how often expired claims are looked for (at most; sooner with a short lease)


@dataclass(frozen=True)
class Outcome:
    status: DeliveryStatus
    smtp_response: str | None = None
    error: str | None = None
    to: tuple[str, ...] = ()
    next_attempt_at: dt.datetime | None = None
    attachment_path: str | None = None


def utc(value: dt.datetime) -> dt.datetime:
    """SQLite gives naive datetimes back; every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def describe_failure(error: BaseException) -> str:
    """The reason as a user reads it: the SMTP reply and step, or just the problem before SMTP."""
    if isinstance(error, DeliveryError) and error.stage == "build":
        return error.smtp_message
    return str(error)


def sweep_interval(lease_s: float) -> float:
    return min(SWEEP_EVERY_S, max(lease_s, 1.0))


def lease_cutoff(now: dt.datetime, lease_s: float) -> dt.datetime:
    """Claims made before this were interrupted: longer ago than any live transaction lasts."""
    return now - dt.timedelta(seconds=lease_s)


def lost_during_data(error: DeliveryError) -> bool:
    """The connection dropped during DATA with no reply: the message may have been accepted."""
    return isinstance(error, TemporaryDeliveryError) and error.stage == "data" and error.smtp_code is None


@dataclass(frozen=True)
class Attempt:
    """One attempt of a claimed delivery: its number (attempts so far, this one included), when the
    delivery was recorded (the retry window starts there), and the file it attaches."""

    attempts: int
    created_at: dt.datetime
    attachment_path: str | None

    def sent(self, response: str, recipients: Sequence[str], refused: Mapping[str, str]) -> Outcome:
        """The server took the message: its answer, plus the recipients it refused while taking others."""
        if refused:
            response = f"{response} (refused: {'; '.join(f'{a}: {reply}' for a, reply in refused.items())})"
        return Outcome(
            DeliveryStatus.SENT,
            smtp_response=response,
            to=tuple(recipients),
            attachment_path=self.attachment_path,
        )

    def smtp_failed(
        self, error: DeliveryError, now: dt.datetime, policy: RetryPolicy, rng: UniformSource
    ) -> Outcome:
        """A failed SMTP transaction: unconfirmed if the message may have arrived, else as `failed`."""
        if lost_during_data(error):
            reason = f"{LOST_DURING_DATA_REASON} ({error})"
            return Outcome(DeliveryStatus.UNCONFIRMED, error=reason, attachment_path=self.attachment_path)
        return self.failed(error, now, policy, rng)

    def failed(
        self, error: BaseException, now: dt.datetime, policy: RetryPolicy, rng: UniformSource
    ) -> Outcome:
        """Nothing reached the server, or it refused: `pending` again while worth retrying, else `failed`."""
        elapsed = (now - utc(self.created_at)).total_seconds()
        if policy.should_retry(error, elapsed):
            delay = policy.next_delay(self.attempts, rng, elapsed)
            return Outcome(
                DeliveryStatus.PENDING,
                error=describe_failure(error),
                next_attempt_at=now + dt.timedelta(seconds=delay),
                attachment_path=self.attachment_path,
            )
        reason = describe_failure(error)
        if isinstance(error, TemporaryDeliveryError):
            reason = f"gave up after {self.attempts} attempts in {elapsed:.0f} s: {reason}"
        return Outcome(DeliveryStatus.FAILED, error=reason, attachment_path=self.attachment_path)


def interrupted(*, smtp_started: bool, now: dt.datetime) -> Outcome:
    """A claim past its lease: its process died. During SMTP nobody knows if the message arrived
    (`unconfirmed`); before, nothing left, so it is due again now."""
    if smtp_started:
        return Outcome(DeliveryStatus.UNCONFIRMED, error=INTERRUPTED_REASON)
    return Outcome(DeliveryStatus.PENDING, error=NOT_STARTED_REASON, next_attempt_at=now)


def announcement(kind: str, status: DeliveryStatus) -> str | None:
    """The event an outcome publishes, if any: retries publish nothing, nor do export reports."""
    if kind != DeliveryKind.DOCUMENT.value:
        return None
    if status is DeliveryStatus.SENT:
        return INVOICE_DELIVERED
    if status in (DeliveryStatus.FAILED, DeliveryStatus.UNCONFIRMED):
        return INVOICE_DELIVERY_FAILED
    return None


def delivery_outcome(
    *,
    request_id: str,
    number: str,
    recipients: Sequence[Mapping[str, str]],
    outcome: Outcome,
    at: dt.datetime,
) -> DeliveryOutcome:
    """The payload of `invoice.delivered` / `invoice.delivery_failed`: who got it (the accepted
    recipients when sent, else those it was meant for), the server's answer or the reason."""
    sent_to = outcome.status is DeliveryStatus.SENT
    return DeliveryOutcome(
        request_id=request_id,
        number=number,
        to=list(outcome.to) if sent_to else [r["email"] for r in recipients],
        at=at,
        smtp_response=outcome.smtp_response if sent_to else None,
        error=None if sent_to else outcome.error,
    )
