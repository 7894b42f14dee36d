"""Issuing a document: number it, store it and queue its event, all in the caller's transaction."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.number_sequence import take_next_sequence
from ledgerline_invoicing.adapters.orm import ClientRow, ContactRow, DocumentRow
from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.domain.lines import DraftLine, to_document_lines
from ledgerline_invoicing.domain.money import document_totals, tax_breakdown
from ledgerline_invoicing.domain.numbering import format_number
from ledgerline_shared.contracts.document import (
    Address,
    ConsumptionLine,
    Document,
    DocumentReference,
    DocumentType,
    Party,
    Recipient,
)
from ledgerline_shared.runtime import ServiceRuntime
from ledgerline_shared.topics import (
    CREDITNOTE_ISSUED,
    INVOICE_ISSUED,
    INVOICE_PREVIEW_CREATED,
    PROFORMA_CREATED,
)

EVENT_OF = {
    DocumentType.INVOICE: INVOICE_ISSUED,
    DocumentType.CREDIT_NOTE: CREDITNOTE_ISSUED,
    DocumentType.PROFORMA: PROFORMA_CREATED,
    DocumentType.PREVIEW: INVOICE_PREVIEW_CREATED,
}


def prefix_of(settings: InvoicingSettings, kind: DocumentType) -> str:
    return {
        DocumentType.INVOICE: settings.invoice_prefix,
        DocumentType.CREDIT_NOTE: settings.credit_note_prefix,
        DocumentType.PROFORMA: settings.proforma_prefix,
    }[kind]


async def invoice_recipients(session: AsyncSession, client_id: str) -> list[Recipient]:
    rows = (
        await session.scalars(
            select(ContactRow)
            .where(ContactRow.client_id == client_id, ContactRow.invoice_recipient.is_(True))
            .order_by(ContactRow.name)
        )
    ).all()
    return [Recipient(name=c.name, email=c.email) for c in rows]


async def buyer_snapshot(
    session: AsyncSession, client: ClientRow, recipients: Sequence[Recipient] | None = None
) -> Party:
    """The client as it stands now: a regeneration uses the current address (user guide).

    `recipients`: the client's invoice recipients when the caller already read them (a billing run
    reads those of a whole chunk of clients in one query); read here otherwise.
    """
    if recipients is None:
        recipients = await invoice_recipients(session, client.id)
    return _buyer(client, recipients)


def _buyer(client: ClientRow, recipients: Sequence[Recipient]) -> Party:
    return Party(
        name=client.name,
        address=Address(
            line1=client.address_line1,
            line2=client.address_line2,
            postcode=client.postcode,
            city=client.city,
            country=client.country,
        ),
        vat_id=client.vat_id,
        siren=client.siren,
        client_id=client.id,
        code=client.code,
        recipients=list(recipients),
    )


async def issue_document(
    session: AsyncSession,
    runtime: ServiceRuntime,
    settings: InvoicingSettings,
    *,
    kind: DocumentType,
    client: ClientRow,
    lines: Sequence[DraftLine],
    issue_date: dt.date,
    period: str | None = None,
    references: Sequence[DocumentReference] = (),
    consumption: Sequence[ConsumptionLine] = (),
    reason: str | None = None,
    requested_by: str | None = None,
    run_id: str | None = None,
) -> tuple[DocumentRow, Document]:
    """Build, number (except previews), store and publish one document."""
    document = await _numbered_document(
        session,
        settings,
        kind=kind,
        client=client,
        buyer=await buyer_snapshot(session, client),
        lines=lines,
        issue_date=issue_date,
        period=period,
        references=references,
        consumption=consumption,
        reason=reason,
        requested_by=requested_by,
        run_id=run_id,
    )
    row = DocumentRow(**_row_values(document, client, run_id))
    session.add(row)
    await session.flush()
    await runtime.emit(session, EVENT_OF[kind], document.number or run_id or str(document.id), document)
    return row, document


def run_document(
    settings: InvoicingSettings,
    *,
    kind: DocumentType,
    client: ClientRow,
    recipients: Sequence[Recipient],
    lines: Sequence[DraftLine],
    issue_date: dt.date,
    period: str,
    consumption: Sequence[ConsumptionLine],
    run_id: str | None,
) -> Document:
    """A billing run's document before its number: built (and so checked) before the number is
    taken, so the numbering row lock is not held while documents are built."""
    return _document(
        settings,
        number=None,
        kind=kind,
        client=client,
        buyer=_buyer(client, recipients),
        lines=lines,
        issue_date=issue_date,
        period=period,
        consumption=consumption,
        run_id=run_id,
    )


async def issue_run_documents(
    session: AsyncSession,
    runtime: ServiceRuntime,
    settings: InvoicingSettings,
    batch: Sequence[tuple[ClientRow, Document]],
    run_id: str | None,
) -> list[Document]:
    """Number (except previews), store and publish documents built by `run_document`, all or
    nothing: one block of numbers, given in the batch's order, and one multi-row INSERT. The
    caller runs it under a savepoint and, should it fail, issues them one batch of one at a time
    (so that only the failing one is left out).

    The batch is of one kind and, numbered, of one issue year (one series and year: one block).
    """
    if not batch:
        return []
    kinds = {document.type for _, document in batch}
    years = {document.issue_date.year for _, document in batch}
    if len(kinds) != 1 or len(years) != 1:
        raise ValueError("a batch of documents is of one kind and one issue year")
    kind, year = kinds.pop(), years.pop()
    if kind is not DocumentType.PREVIEW:
        prefix = prefix_of(settings, kind)
        first = await take_next_sequence(session, prefix, year, len(batch)) - len(batch) + 1
        batch = [
            (client, document.model_copy(update={"number": format_number(prefix, year, first + n)}))
            for n, (client, document) in enumerate(batch)
        ]
    await session.execute(
        insert(DocumentRow), [_row_values(document, client, run_id) for client, document in batch]
    )
    for _client, document in batch:
        await runtime.emit(session, EVENT_OF[kind], document.number or run_id or str(document.id), document)
    return [document for _, document in batch]


async def _numbered_document(
    session: AsyncSession,
    settings: InvoicingSettings,
    *,
    kind: DocumentType,
    client: ClientRow,
    buyer: Party,
    lines: Sequence[DraftLine],
    issue_date: dt.date,
    period: str | None,
    references: Sequence[DocumentReference] = (),
    consumption: Sequence[ConsumptionLine] = (),
    reason: str | None = None,
    requested_by: str | None = None,
    run_id: str | None = None,
) -> Document:
    number = None
    if kind is not DocumentType.PREVIEW:
        seq = await take_next_sequence(session, prefix_of(settings, kind), issue_date.year)
        number = format_number(prefix_of(settings, kind), issue_date.year, seq)
    return _document(
        settings,
        number=number,
        kind=kind,
        client=client,
        buyer=buyer,
        lines=lines,
        issue_date=issue_date,
        period=period,
        references=references,
        consumption=consumption,
        reason=reason,
        requested_by=requested_by,
        run_id=run_id,
    )


def _document(
    settings: InvoicingSettings,
    *,
    number: str | None,
    kind: DocumentType,
    client: ClientRow,
    buyer: Party,
    lines: Sequence[DraftLine],
    issue_date: dt.date,
    period: str | None,
    references: Sequence[DocumentReference] = (),
    consumption: Sequence[ConsumptionLine] = (),
    reason: str | None = None,
    requested_by: str | None = None,
    run_id: str | None = None,
) -> Document:
    breakdown = tax_breakdown(lines)
    return Document(
        id=uuid.uuid4(),
        number=number,
        type=kind,
        issue_date=issue_date,
        due_date=issue_date + dt.timedelta(days=client.payment_terms_days),
        period=period,
        currency=client.currency,
        language=client.language,
        seller=settings.seller(),
        buyer=buyer,
        lines=to_document_lines(lines),
        tax_breakdown=breakdown,
        totals=document_totals(lines, breakdown),
        references=list(references),
        consumption=list(consumption),
        payment_terms_days=client.payment_terms_days,
        reason=reason,
        requested_by=requested_by,
        run_id=uuid.UUID(run_id) if run_id else None,
    )


def _row_values(document: Document, client: ClientRow, run_id: str | None) -> dict[str, Any]:
    """The documents row of an issued (or previewed) document: one mapping for every way of issuing."""
    return {
        "id": str(document.id),
        "number": document.number,
        "type": document.type.value,
        "status": "preview" if document.type is DocumentType.PREVIEW else "issued",
        "client_id": client.id,
        "client_code": client.code,
        "client_name": client.name,
        "period": document.period,
        "issue_date": document.issue_date,
        "month": document.issue_date.strftime("%Y-%m"),
        "due_date": document.due_date,
        "currency": document.currency,
        "net_total": document.totals.net_total,
        "tax_total": document.totals.tax_total,
        "gross_total": document.totals.gross_total,
        "original_number": document.references[0].number if document.references else None,
        "run_id": run_id,
        "body": document.model_dump_json(),
        "reason": document.reason,
        "requested_by": document.requested_by,
    }


async def issue_built_document(
    session: AsyncSession,
    runtime: ServiceRuntime,
    settings: InvoicingSettings,
    *,
    kind: DocumentType,
    client: ClientRow,
    issue_date: dt.date,
    build: Callable[[str], Document],
) -> tuple[DocumentRow, Document]:
    """Number, store and publish a document whose content a domain rule built (a credit note).

    `build` receives the number and returns the finished Document; the stored row mirrors it, so
    its totals, references, reason and requester are exactly those of the published event.
    """
    if kind is DocumentType.PREVIEW:
        raise ValueError("a preview carries no number; use issue_document")
    seq = await take_next_sequence(session, prefix_of(settings, kind), issue_date.year)
    document = build(format_number(prefix_of(settings, kind), issue_date.year, seq))
    if document.number is None or document.type is not kind or document.issue_date != issue_date:
        raise ValueError("the built document does not carry the number, type and date it was given")
    row = DocumentRow(**_row_values(document, client, None))
    session.add(row)
    await session.flush()
    await runtime.emit(session, EVENT_OF[kind], document.number, document)
    return row, document
