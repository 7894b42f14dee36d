"""Credit notes of an issued invoice: method A (cancellation) and partial credits.

One transaction does everything: lock the original invoice row, check and price the credit
(domain/credit.py), number the credit note in its own series, store it with its outbox event
(creditnote.issued), and move the invoice's credited total and status. The lock is what makes two
simultaneous cancellations yield one credit note: the second waits for the first to commit, then
reads `cancelled` and is refused. (PostgreSQL: SELECT ... FOR UPDATE on the invoice row; SQLite:
BEGIN IMMEDIATE already serialises writers, and SQLAlchemy leaves FOR UPDATE out there.)

The invoice row is locked before the number sequence, as every credit path does, so two of them
never wait on each other in opposite orders.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.orm import ClientRow, DocumentRow
from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.domain.credit import (
    CreditLineLike,
    CreditPlan,
    InvoiceStatus,
    credit_note_document,
    plan_cancellation,
    plan_partial_credit,
)
from ledgerline_invoicing.service.errors import NotFound
from ledgerline_invoicing.service.issuing import invoice_recipients, issue_built_document
from ledgerline_shared.contracts.document import Document, DocumentType
from ledgerline_shared.contracts.events import CreditNoteRequested
from ledgerline_shared.runtime import ServiceRuntime
from ledgerline_shared.topics import CREDITNOTE_REQUESTED

# The idempotent consumer remembers ce_ids in processed_events; the request_ids of
# creditnote.requested are remembered there too, under this name, in the credit note's own
# transaction: a request sent twice (two events, one request_id) credits once.
REQUEST_IDS = "invoicing.creditnote.request_id"

Planner = Callable[[Document, InvoiceStatus, Sequence[Document]], CreditPlan]


@dataclass(frozen=True)
class CreditOutcome:
    credit_note: DocumentRow
    document: Document
    invoice: DocumentRow


async def cancel_invoice(
    session: AsyncSession,
    runtime: ServiceRuntime,
    settings: InvoicingSettings,
    *,
    number: str,
    reason: str | None,
    requested_by: str,
    issue_date: dt.date | None = None,
) -> CreditOutcome:
    """Method A: a credit note for the whole remaining amount; the invoice becomes cancelled."""

    def plan(invoice: Document, status: InvoiceStatus, earlier: Sequence[Document]) -> CreditPlan:
        return plan_cancellation(invoice, status, earlier, reason)

    return await _credit(session, runtime, settings, number, plan, requested_by, issue_date)


async def credit_partially(
    session: AsyncSession,
    runtime: ServiceRuntime,
    settings: InvoicingSettings,
    *,
    number: str,
    reason: str | None,
    lines: Sequence[CreditLineLike],
    requested_by: str,
    issue_date: dt.date | None = None,
) -> CreditOutcome:
    """A partial credit note; the invoice becomes partially_credited, or credited when nothing remains."""

    def plan(invoice: Document, status: InvoiceStatus, earlier: Sequence[Document]) -> CreditPlan:
        return plan_partial_credit(invoice, status, earlier, reason, lines)

    return await _credit(session, runtime, settings, number, plan, requested_by, issue_date)


async def apply_credit_request(
    session: AsyncSession,
    runtime: ServiceRuntime,
    settings: InvoicingSettings,
    request: CreditNoteRequested,
    requested_by: str,
) -> CreditOutcome | None:
    """creditnote.requested: without lines a cancellation, with lines a partial credit.
    None when this request_id was already applied (nothing is done twice)."""
    # The invoice is locked first, so a duplicate arriving concurrently waits here and then sees
    # the request_id the first one recorded.
    await _lock_invoice(session, request.invoice_number)
    processed = runtime.tables.processed
    seen = await session.scalar(
        select(processed.c.ce_id).where(
            processed.c.consumer == REQUEST_IDS, processed.c.ce_id == request.request_id
        )
    )
    if seen is not None:
        return None
    if request.lines is None:
        outcome = await cancel_invoice(
            session,
            runtime,
            settings,
            number=request.invoice_number,
            reason=request.reason,
            requested_by=requested_by,
        )
    else:
        outcome = await credit_partially(
            session,
            runtime,
            settings,
            number=request.invoice_number,
            reason=request.reason,
            lines=request.lines,
            requested_by=requested_by,
        )
    await session.execute(
        insert(processed).values(
            consumer=REQUEST_IDS,
            ce_id=request.request_id,
            topic=CREDITNOTE_REQUESTED,
            processed_at=dt.datetime.now(dt.UTC),
        )
    )
    return outcome


async def _lock_invoice(session: AsyncSession, number: str) -> DocumentRow:
    row = await session.scalar(
        select(DocumentRow)
        .where(DocumentRow.number == number)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        # A preview has no number; it is addressed by its id and refused by the domain rule.
        row = await session.scalar(
            select(DocumentRow).where(DocumentRow.id == number, DocumentRow.number.is_(None))
        )
    if row is None:
        raise NotFound("document", number, "number")
    return row


async def _credit(
    session: AsyncSession,
    runtime: ServiceRuntime,
    settings: InvoicingSettings,
    number: str,
    planner: Planner,
    requested_by: str,
    issue_date: dt.date | None,
) -> CreditOutcome:
    row = await _lock_invoice(session, number)
    invoice = Document.model_validate_json(row.body)
    # Only invoices carry a credit status; other types are refused by the domain on their type.
    status = InvoiceStatus(row.status) if row.type == DocumentType.INVOICE.value else InvoiceStatus.ISSUED
    earlier = [
        Document.model_validate_json(body)
        for body in (
            await session.scalars(
                select(DocumentRow.body)
                .where(
                    DocumentRow.original_number == row.number,
                    DocumentRow.type == DocumentType.CREDIT_NOTE.value,
                )
                .order_by(DocumentRow.number)
            )
        ).all()
    ]
    plan = planner(invoice, status, earlier)
    client = await session.get(ClientRow, row.client_id)
    if client is None:  # the foreign key makes this impossible; say so plainly if it ever happens
        raise NotFound("client", row.client_id, "client_id")
    # The buyer stays the invoice's (same party, same address); the e-mail goes to today's recipients.
    buyer = invoice.buyer.model_copy(update={"recipients": await invoice_recipients(session, client.id)})
    day = issue_date or dt.date.today()

    def build(credit_number: str) -> Document:
        note = credit_note_document(
            invoice, plan, issue_date=day, number=credit_number, requested_by=requested_by
        )
        return note.model_copy(update={"buyer": buyer})

    note_row, note = await issue_built_document(
        session, runtime, settings, kind=DocumentType.CREDIT_NOTE, client=client, issue_date=day, build=build
    )
    row.credited_total = row.credited_total + note.totals.gross_total
    row.status = plan.new_status.value
    await session.flush()
    return CreditOutcome(credit_note=note_row, document=note, invoice=row)
