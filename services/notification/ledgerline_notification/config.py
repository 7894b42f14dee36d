"""Notification's settings: SMTP (shared LEDGERLINE_SMTP_*), the CA it trusts, and the delivery worker."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ledgerline_shared.document_store import store_root
from ledgerline_shared.settings import Settings


class NotificationSettings(Settings):
    # A private CA for the SMTP server's certificate (a test server, an internal relay); the
    # system's trust store when unset. Certificates and host names are always verified.
    smtp_ca_file: Path | None = None
    smtp_retry_base_s: float = 2.0  # ceiling of the first retry delay (then doubles, with jitter)
    smtp_retry_max_delay_s: float = 300.0  # the ceiling never grows past this
    smtp_connections: int = 2  # SMTP connections the worker keeps open and reuses
    delivery_poll_s: float = 1.0  # how often the worker looks for due deliveries when not woken
    delivery_batch: int = 20  # deliveries claimed per round
    # A delivery left `sending` by another process for longer than this was interrupted during
    # the SMTP transaction (crash, kill): it is reported, never resent. Longer than any live
    # transaction can last (each SMTP command has smtp_timeout_s).
    delivery_lease_s: float = 600.0
    # Where clients' answers to document e-mails go (`Billing <billing@operator.example>`); also the
    # contact address the e-mail names. Unset: no Reply-To, and the seller's e-mail is the contact.
    mail_reply_to: str | None = None
    export_mail_language: str = "fr"  # export.completed carries no language
    export_attachment_max_bytes: int = 15 * 1024 * 1024  # bigger files: the report only

    def document_root(self) -> Path:
        return store_root(self.data_dir)


@lru_cache
def get_notification_settings() -> NotificationSettings:
    return NotificationSettings()
