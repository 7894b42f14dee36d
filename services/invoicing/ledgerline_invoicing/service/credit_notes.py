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

from ledgerline_invoicing.adapters.orm import DocumentRow
from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.domain.credit import (
    CreditPlan,
    credit_note_document,
    plan_cancellation,
    plan_partial_credit,
)
from ledgerline_invoicing.service.commands import (
    ApplyCreditRequest,
    CancelInvoice,
    CreditLine,
    CreditPartially,
)
from ledgerline_invoicing.service.errors import NotFound
from ledgerline_invoicing.service.issuing import issue_built_document
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_shared.contracts.document import Document, DocumentType, InvoiceStatus
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
    uow: InvoicingUnitOfWork, settings: InvoicingSettings, cmd: CancelInvoice
) -> CreditOutcome:
    """Method A: a credit note for the whole remaining amount; the invoice becomes cancelled."""
    async with uow:
        outcome = await _cancel(uow, settings, cmd)
        await uow.commit()
    return outcome


async def credit_partially(
    uow: InvoicingUnitOfWork, settings: InvoicingSettings, cmd: CreditPartially
) -> CreditOutcome:
    """A partial credit note; the invoice becomes partially_credited, or credited when nothing remains."""
    async with uow:
        outcome = await _credit_partially(uow, settings, cmd)
        await uow.commit()
    return outcome


async def apply_credit_request(
    uow: InvoicingUnitOfWork, settings: InvoicingSettings, cmd: ApplyCreditRequest
) -> CreditOutcome | None:
    """creditnote.requested: without lines a cancellation, with lines a partial credit.
    None when this request_id was already applied (nothing is done twice)."""
    async with uow:
        # The invoice is locked first, so a duplicate arriving concurrently waits here and then
        # sees the request_id the first one recorded.
        await _lock_invoice(uow, cmd.invoice_number)
        if await uow.processed_requests.seen(REQUEST_IDS, cmd.request_id):
            return None
        if cmd.lines is None:
            outcome = await _cancel(
                uow,
                settings,
                CancelInvoice(number=cmd.invoice_number, reason=cmd.reason, requested_by=cmd.requested_by),
            )
        else:
            outcome = await _credit_partially(
                uow,
                settings,
                CreditPartially(
                    number=cmd.invoice_number,
                    reason=cmd.reason,
                    lines=cmd.lines,
                    requested_by=cmd.requested_by,
                ),
            )
        await uow.processed_requests.remember(REQUEST_IDS, cmd.request_id, CREDITNOTE_REQUESTED)
        await uow.commit()
    return outcome


async def _cancel(uow: InvoicingUnitOfWork, settings: InvoicingSettings, cmd: CancelInvoice) -> CreditOutcome:
    def plan(invoice: Document, status: InvoiceStatus, earlier: Sequence[Document]) -> CreditPlan:
        return plan_cancellation(invoice, status, earlier, cmd.reason)

    return await _credit(uow, settings, cmd.number, plan, cmd.requested_by, cmd.issue_date)


async def _credit_partially(
    uow: InvoicingUnitOfWork, settings: InvoicingSettings, cmd: CreditPartially
) -> CreditOutcome:
    lines: Sequence[CreditLine] = cmd.lines

    def plan(invoice: Document, status: InvoiceStatus, earlier: Sequence[Document]) -> CreditPlan:
        return plan_partial_credit(invoice, status, earlier, cmd.reason, lines)

    return await _credit(uow, settings, cmd.number, plan, cmd.requested_by, cmd.issue_date)


async def _lock_invoice(uow: InvoicingUnitOfWork, number: str) -> DocumentRow:
    row = await uow.documents.lock(number)
    if row is None:
        raise NotFound("document", number, "number")
    return row


async def _credit(
    uow: InvoicingUnitOfWork,
    settings: InvoicingSettings,
    number: str,
    planner: Planner,
    requested_by: str,
    issue_date: dt.date | None,
) -> CreditOutcome:
    row = await _lock_invoice(uow, number)  # before the number sequence, as every credit path
    invoice = Document.model_validate_json(row.body)
    # Only invoices carry a credit status; other types are refused by the domain on their type.
    status = InvoiceStatus(row.status) if row.type == DocumentType.INVOICE.value else InvoiceStatus.ISSUED
    earlier = await uow.documents.credit_notes_of(row.number) if row.number else []
    plan = planner(invoice, status, earlier)  # the rules and the ceiling: domain/credit.py
    client = await uow.clients.get(row.client_id)
    if client is None:  # the foreign key makes this impossible; say so plainly if it ever happens
        raise NotFound("client", row.client_id, "client_id")
    # The buyer stays the invoice's (same party, same address); the e-mail goes to today's recipients.
    buyer = invoice.buyer.model_copy(update={"recipients": await uow.clients.invoice_recipients(client.id)})
    day = issue_date or dt.date.today()

    def build(credit_number: str) -> Document:
        # The note carries the invoice's status and credited total after it (export shows them).
        note = credit_note_document(
            invoice, plan, issue_date=day, number=credit_number, requested_by=requested_by
        )
        return note.model_copy(update={"buyer": buyer})

    note_row, note = await issue_built_document(
        uow, settings, kind=DocumentType.CREDIT_NOTE, client=client, issue_date=day, build=build
    )
    await uow.documents.mark_credited(row, plan.credited_after, plan.new_status.value)
    return CreditOutcome(credit_note=note_row, document=note, invoice=row)
