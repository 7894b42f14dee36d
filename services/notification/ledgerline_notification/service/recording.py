"""Which e-mails to send, recorded as deliveries in the consumer's transaction (spec section 7).

- `document.rendered`: remember where the document's latest PDF is; the FIRST rendering of an
  invoice or credit note also records its one automatic delivery (request id "auto"). Proformas
  and previews are never sent automatically; regenerations never resend.
- `invoice.send.requested`: always a new delivery, to the recipients the request carries (the
  client's current contacts), whatever was sent before.
- `export.completed`: the report e-mail to the requester, with the exported file.

Each delivery is unique on (number, request_id): an event redelivered under a new ce_id finds its
delivery already there and records nothing. Sending is the worker's job, after the commit.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_notification.adapters.orm import (
    AUTO_REQUEST_ID,
    EXPORT_REQUEST_ID,
    DeliveryKind,
    DeliveryRow,
    DeliveryStatus,
    KnownDocumentRow,
    Trigger,
)
from ledgerline_shared.contracts.document import DocumentType, Recipient
from ledgerline_shared.contracts.events import DocumentRendered, ExportCompleted, SendRequested

AUTOMATIC_TYPES = frozenset({DocumentType.INVOICE, DocumentType.CREDIT_NOTE})


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _recipients(recipients: list[Recipient]) -> list[dict[str, str]]:
    return [{"name": r.name, "email": r.email} for r in recipients]


async def _exists(session: AsyncSession, number: str, request_id: str) -> bool:
    found = await session.scalar(
        select(DeliveryRow.id).where(DeliveryRow.number == number, DeliveryRow.request_id == request_id)
    )
    return found is not None


async def remember_document(session: AsyncSession, event: DocumentRendered) -> KnownDocumentRow | None:
    """Keep the newest version's PDF path, type, language, client and recipients; None for previews."""
    if event.number is None:
        return None  # a preview has no number: nothing can ask to send it
    row = await session.get(KnownDocumentRow, event.number)
    if row is not None and row.version >= event.version:
        return row  # an older version arriving late changes nothing
    if row is None:
        row = KnownDocumentRow(number=event.number)
        session.add(row)
    row.document_id = event.document_id
    row.type = event.type.value
    row.version = event.version
    row.pdf_path = event.files.pdf.path
    row.pdf_sha256 = event.files.pdf.sha256
    row.issue_date = event.issue_date
    row.language = event.language
    row.client_id = event.client_id
    row.recipients = _recipients(event.recipients)
    row.updated_at = _now()
    await session.flush()
    return row


async def on_document_rendered(session: AsyncSession, event: DocumentRendered) -> DeliveryRow | None:
    """Remember the document; record the automatic delivery after the first rendering."""
    await remember_document(session, event)
    if event.number is None or event.version != 1 or event.type not in AUTOMATIC_TYPES:
        return None
    if await _exists(session, event.number, AUTO_REQUEST_ID):
        return None
    now = _now()
    delivery = DeliveryRow(
        kind=DeliveryKind.DOCUMENT.value,
        number=event.number,
        request_id=AUTO_REQUEST_ID,
        trigger=Trigger.AUTO.value,
        status=DeliveryStatus.PENDING.value,
        recipients=_recipients(event.recipients),
        language=event.language,
        client_id=event.client_id,
        attachment_path=event.files.pdf.path,  # the version this event announces: the first one
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    await session.flush()
    return delivery


async def on_send_requested(session: AsyncSession, event: SendRequested) -> DeliveryRow | None:
    """A new delivery per request, to the request's (current) recipients, with the latest PDF."""
    if await _exists(session, event.number, event.request_id):
        return None
    known = await session.get(KnownDocumentRow, event.number)
    now = _now()
    delivery = DeliveryRow(
        kind=DeliveryKind.DOCUMENT.value,
        number=event.number,
        request_id=event.request_id,
        trigger=Trigger.REQUEST.value,
        status=DeliveryStatus.PENDING.value,
        recipients=_recipients(event.recipients),
        language=event.language,
        client_id=known.client_id if known else None,
        requested_by=event.requested_by[:254],
        # Not rendered yet (the request overtook document.rendered): the worker looks again.
        attachment_path=known.pdf_path if known else None,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    await session.flush()
    return delivery


async def on_export_completed(
    session: AsyncSession, event: ExportCompleted, *, recipient: str, language: str
) -> DeliveryRow | None:
    """`recipient`: the requester recorded by the export service (its receipt), never the event's own."""
    if await _exists(session, event.export_id, EXPORT_REQUEST_ID):
        return None
    now = _now()
    delivery = DeliveryRow(
        kind=DeliveryKind.EXPORT.value,
        number=event.export_id,
        request_id=EXPORT_REQUEST_ID,
        trigger=Trigger.REQUEST.value,
        status=DeliveryStatus.PENDING.value,
        recipients=[{"name": "", "email": recipient}],
        language=language,
        requested_by=recipient[:254],
        attachment_path=event.path,
        details={"kind": event.kind, "format": event.format, "rows": event.rows, "report": event.report},
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    await session.flush()
    return delivery
