"""What a delivery is, and which events record one (spec section 7).

- `document.rendered`: the FIRST rendering of an invoice or credit note records its one automatic
  delivery (request id "auto"). Proformas and previews are never sent automatically; regenerations
  never resend. Only a newer version replaces what is known of a document.
- `invoice.send.requested`: always a new delivery, to the recipients the request carries (the
  client's current contacts), whatever was sent before; with the latest PDF known, if any.
- `export.completed`: the report e-mail to the requester the export service confirmed.

Each delivery is unique on (number, request_id): an event redelivered under a new ce_id finds its
delivery already there and records nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ledgerline_shared.contracts.document import DocumentType, Recipient
from ledgerline_shared.contracts.events import DocumentRendered, ExportCompleted, SendRequested


class DeliveryKind(StrEnum):
    DOCUMENT = "document"  # an invoice, credit note or proforma to the client's recipients
    EXPORT = "export"  # an export's report to the person who asked for it


class Trigger(StrEnum):
    AUTO = "auto"  # the first rendering of an invoice or credit note
    REQUEST = "request"  # invoice.send.requested, or export.completed


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    SENDING = "sending"  # claimed and committed before the SMTP transaction started
    SENT = "sent"
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"  # interrupted during SMTP: may or may not have arrived; not resent


AUTO_REQUEST_ID = "auto"  # the one automatic delivery per document: unique with the number
EXPORT_REQUEST_ID = "export"  # the one report e-mail per export
AUTOMATIC_TYPES = frozenset({DocumentType.INVOICE, DocumentType.CREDIT_NOTE})
MAX_REQUESTED_BY = 254


@dataclass(frozen=True)
class KnownDocument:
    """A document as `document.rendered` last described it: its newest version and where its PDF is."""

    number: str
    type: DocumentType
    version: int
    pdf_path: str
    issue_date: dt.date
    client_id: str | None


@dataclass(frozen=True)
class NewDelivery:
    """A delivery to record as `pending`, due at once."""

    kind: DeliveryKind
    number: str  # the document number, or the export id
    request_id: str
    trigger: Trigger
    recipients: list[dict[str, str]]  # [{name, email}]
    language: str
    client_id: str | None = None
    requested_by: str | None = None
    attachment_path: str | None = None  # None: not rendered yet, the worker looks again
    details: dict[str, Any] | None = None


def recipients_of(recipients: list[Recipient]) -> list[dict[str, str]]:
    return [{"name": r.name, "email": r.email} for r in recipients]


def supersedes(known_version: int | None, version: int) -> bool:
    """An older version arriving late changes nothing of what is known of the document."""
    return known_version is None or version > known_version


def sends_automatically(event: DocumentRendered) -> bool:
    """Only the first rendering of an invoice or a credit note is e-mailed without a request."""
    return event.number is not None and event.version == 1 and event.type in AUTOMATIC_TYPES


def automatic_delivery(event: DocumentRendered) -> NewDelivery:
    if event.number is None:
        raise ValueError("a preview is never sent")
    return NewDelivery(
        kind=DeliveryKind.DOCUMENT,
        number=event.number,
        request_id=AUTO_REQUEST_ID,
        trigger=Trigger.AUTO,
        recipients=recipients_of(event.recipients),
        language=event.language,
        client_id=event.client_id,
        attachment_path=event.files.pdf.path,  # the version this event announces: the first one
    )


def requested_delivery(event: SendRequested, *, client_id: str | None, latest_pdf: str | None) -> NewDelivery:
    """A new delivery per request, to the request's (current) recipients, with the latest PDF."""
    return NewDelivery(
        kind=DeliveryKind.DOCUMENT,
        number=event.number,
        request_id=event.request_id,
        trigger=Trigger.REQUEST,
        recipients=recipients_of(event.recipients),
        language=event.language,
        client_id=client_id,
        requested_by=event.requested_by[:MAX_REQUESTED_BY],
        # Not rendered yet (the request overtook document.rendered): the worker looks again.
        attachment_path=latest_pdf,
    )


def export_report_delivery(event: ExportCompleted, *, recipient: str, language: str) -> NewDelivery:
    """`recipient`: the requester recorded by the export service (its receipt), never the event's own."""
    return NewDelivery(
        kind=DeliveryKind.EXPORT,
        number=event.export_id,
        request_id=EXPORT_REQUEST_ID,
        trigger=Trigger.REQUEST,
        recipients=[{"name": "", "email": recipient}],
        language=language,
        requested_by=recipient[:MAX_REQUESTED_BY],
        attachment_path=event.path,
        details={"kind": event.kind, "format": event.format, "rows": event.rows, "report": event.report},
    )
