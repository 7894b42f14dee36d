"""Why a delivery did not go out, in two kinds: worth retrying later, or final (spec section 7)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import ClassVar


class FailureKind(StrEnum):
    TEMPORARY = "temporary"  # retried with backoff until smtp_retry_for_s runs out
    PERMANENT = "permanent"  # ends as invoice.delivery_failed at once


class DeliveryError(Exception):
    """A failed delivery attempt, with the SMTP reply when the server gave one.

    `stage` is where it failed: connect, auth, mail, rcpt, data (or build, before any SMTP).
    A failure at `data` after the message was sent is ambiguous: the server may have accepted
    it; the deterministic Message-ID lets a resend be recognised.
    """

    kind: ClassVar[FailureKind]

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        stage: str | None = None,
        refused: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.smtp_code = code
        self.smtp_message = message
        self.stage = stage
        self.refused: dict[str, str] = dict(refused or {})

    def __str__(self) -> str:
        reply = f"{self.smtp_code} {self.smtp_message}" if self.smtp_code else self.smtp_message
        return f"{reply} (at {self.stage})" if self.stage else reply


class TemporaryDeliveryError(DeliveryError):
    kind = FailureKind.TEMPORARY


class PermanentDeliveryError(DeliveryError):
    kind = FailureKind.PERMANENT


class NoRecipientError(PermanentDeliveryError):
    """The client has no contact flagged invoice_recipient (spec: a failed delivery, that reason)."""

    def __init__(self, message: str = "no invoice recipient") -> None:
        super().__init__(message, stage="build")


class InvalidRecipientError(PermanentDeliveryError):
    """A name or an address refused by contracts/mail_address: it never reaches an SMTP header."""

    def __init__(self, message: str) -> None:
        super().__init__(message, stage="build")
