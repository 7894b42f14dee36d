"""The delivery rules without a database: what an attempt's outcome is, and what it announces."""

from __future__ import annotations

import datetime as dt

from ledgerline_notification.domain.delivery import DeliveryKind, DeliveryStatus, supersedes
from ledgerline_notification.domain.delivery_errors import PermanentDeliveryError, TemporaryDeliveryError
from ledgerline_notification.domain.delivery_rules import (
    INTERRUPTED_REASON,
    Attempt,
    Outcome,
    announcement,
    delivery_outcome,
    interrupted,
    lease_cutoff,
    sweep_interval,
)
from ledgerline_notification.domain.retry_policy import RetryPolicy
from ledgerline_shared.topics import INVOICE_DELIVERED, INVOICE_DELIVERY_FAILED

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
POLICY = RetryPolicy(retry_for_s=900.0, base_delay_s=2.0, max_delay_s=300.0)


class HighestDraw:
    def uniform(self, a: float, b: float, /) -> float:
        return b


def attempt(attempts: int = 1, recorded_s_ago: float = 10.0) -> Attempt:
    # Naive, as SQLite gives it back: the rules read every stored time as UTC.
    created = (NOW - dt.timedelta(seconds=recorded_s_ago)).replace(tzinfo=None)
    return Attempt(attempts=attempts, created_at=created, attachment_path="versions/F1/v1/F1.pdf")


def test_a_connection_lost_during_data_without_a_reply_is_unconfirmed_never_retried() -> None:
    lost = TemporaryDeliveryError("connection lost", stage="data")
    outcome = attempt().smtp_failed(lost, NOW, POLICY, HighestDraw())
    assert outcome.status is DeliveryStatus.UNCONFIRMED and "may have accepted it" in (outcome.error or "")


def test_a_temporary_failure_inside_the_window_is_retried_after_the_backoff() -> None:
    busy = TemporaryDeliveryError("try later", code=451, stage="rcpt")
    outcome = attempt(attempts=2).smtp_failed(busy, NOW, POLICY, HighestDraw())
    assert outcome.status is DeliveryStatus.PENDING
    assert outcome.next_attempt_at == NOW + dt.timedelta(seconds=4.0)


def test_a_temporary_failure_past_the_window_gives_up_and_says_so() -> None:
    busy = TemporaryDeliveryError("try later", code=451, stage="rcpt")
    outcome = attempt(attempts=7, recorded_s_ago=901).failed(busy, NOW, POLICY, HighestDraw())
    assert outcome.status is DeliveryStatus.FAILED
    assert (outcome.error or "").startswith("gave up after 7 attempts in 901 s: ")


def test_a_permanent_failure_fails_at_once_with_the_reply() -> None:
    refused = PermanentDeliveryError("mailbox unknown", code=550, stage="rcpt")
    outcome = attempt().failed(refused, NOW, POLICY, HighestDraw())
    assert outcome.status is DeliveryStatus.FAILED and outcome.error == "550 mailbox unknown (at rcpt)"


def test_sent_names_the_recipients_the_server_refused_while_taking_others() -> None:
    outcome = attempt().sent("250 ok", ["a@x.example"], {"b@x.example": "550 no"})
    assert outcome.status is DeliveryStatus.SENT
    assert outcome.smtp_response == "250 ok (refused: b@x.example: 550 no)" and outcome.to == ("a@x.example",)


def test_what_each_outcome_announces() -> None:
    document, export = DeliveryKind.DOCUMENT.value, DeliveryKind.EXPORT.value
    assert announcement(document, DeliveryStatus.SENT) == INVOICE_DELIVERED
    assert announcement(document, DeliveryStatus.FAILED) == INVOICE_DELIVERY_FAILED
    assert announcement(document, DeliveryStatus.UNCONFIRMED) == INVOICE_DELIVERY_FAILED
    assert announcement(document, DeliveryStatus.PENDING) is None  # a retry later announces nothing
    assert all(announcement(export, status) is None for status in DeliveryStatus)


def test_a_failure_is_announced_to_the_intended_recipients_with_the_reason() -> None:
    recipients = [{"name": "Zoé", "email": "zoe@client.example"}]
    event = delivery_outcome(
        request_id="auto",
        number="F1",
        recipients=recipients,
        outcome=interrupted(smtp_started=True, now=NOW),
        at=NOW,
    )
    assert (
        event.to == ["zoe@client.example"]
        and event.error == INTERRUPTED_REASON
        and event.smtp_response is None
    )
    sent = Outcome(DeliveryStatus.SENT, smtp_response="250 ok", to=("zoe@client.example",))
    event = delivery_outcome(request_id="auto", number="F1", recipients=recipients, outcome=sent, at=NOW)
    assert event.smtp_response == "250 ok" and event.error is None


def test_the_lease_and_the_sweep() -> None:
    assert lease_cutoff(NOW, 600.0) == NOW - dt.timedelta(minutes=10)
    assert sweep_interval(600.0) == 30.0 and sweep_interval(5.0) == 5.0 and sweep_interval(0.0) == 1.0


def test_only_a_newer_version_replaces_what_is_known_of_a_document() -> None:
    assert supersedes(None, 1) and supersedes(1, 2)
    assert not supersedes(2, 2) and not supersedes(3, 2)


def test_an_expired_claim_is_unconfirmed_only_once_its_smtp_transaction_began() -> None:
    began = interrupted(smtp_started=True, now=NOW)
    assert began.status is DeliveryStatus.UNCONFIRMED and began.error == INTERRUPTED_REASON
    never = interrupted(smtp_started=False, now=NOW)
    # Nothing reached the server: due again at once, and nothing is announced (it is not an outcome).
    assert never.status is DeliveryStatus.PENDING and never.next_attempt_at == NOW
    assert announcement(DeliveryKind.DOCUMENT.value, never.status) is None
