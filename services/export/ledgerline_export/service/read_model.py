"""Keeping the read model of issued documents up to date from events (the Kafka subscribers' use cases).

Every update is idempotent and independent of arrival order (adapters/issued_documents.py). An
invoice's status is the one invoicing decided, carried by its credit notes; of those seen, the newest
counts (domain/invoice_status.py). A credit note seen before its invoice waits in the read model until
the invoice arrives.
"""

from __future__ import annotations

from ledgerline_export.domain.invoice_status import CreditNoteSeen, newer, state_after_notes
from ledgerline_export.domain.issued_document import IssuedDocument, IssuedType
from ledgerline_export.service.unit_of_work import ExportUnitOfWork
from ledgerline_shared.contracts.document import Document
from ledgerline_shared.contracts.events import DocumentRendered
from ledgerline_shared.observability import metrics


async def record_issued(uow: ExportUnitOfWork, document: Document) -> IssuedDocument:
    """invoice.issued, creditnote.issued, proforma.created: upsert the document; settle the status of
    the invoice concerned. Refuses previews and numberless documents (NotAnIssuedDocument)."""
    issued = IssuedDocument.from_document(document)
    invoice_number = issued.number if issued.type is IssuedType.INVOICE else issued.original_number
    async with uow:
        if invoice_number is not None:  # first: an invoice and its notes take turns (PostgreSQL)
            await uow.documents.take_turn_on_invoice(invoice_number)
        await uow.documents.record_issued(issued, document)
        if issued.type is IssuedType.INVOICE:
            await _settle_invoice_status(uow, issued.number)  # its notes may have arrived first
        elif issued.type is IssuedType.CREDIT_NOTE and issued.original_number:
            note = CreditNoteSeen(
                issued.gross, document.credited_invoice_status, document.credited_invoice_total
            )
            if note.carries_status:
                await _apply_note_status(uow, issued.original_number, note)
            else:  # a legacy event: only the fallback over all the notes can tell
                await _settle_invoice_status(uow, issued.original_number)
        kind = issued.type.value
        uow.after_commit(lambda: metrics.EXPORT_DOCUMENTS.labels(kind).inc())
        await uow.commit()
    return issued


async def _apply_note_status(uow: ExportUnitOfWork, invoice_number: str, note: CreditNoteSeen) -> None:
    invoice = await uow.documents.lock_invoice(invoice_number)
    if invoice is None:
        return  # the invoice has not arrived: it reads this note when it does
    state = newer(invoice.credit_state, note.state())
    if state != invoice.credit_state:
        await uow.documents.set_credit_state(invoice_number, state)


async def _settle_invoice_status(uow: ExportUnitOfWork, invoice_number: str) -> None:
    invoice = await uow.documents.lock_invoice(invoice_number)
    if invoice is None:
        return
    notes = await uow.documents.credit_notes_of(invoice_number)
    state = state_after_notes(invoice.gross, invoice.credit_state, notes)
    if state != invoice.credit_state:
        await uow.documents.set_credit_state(invoice_number, state)


async def record_rendered(uow: ExportUnitOfWork, event: DocumentRendered) -> bool:
    """document.rendered: remember the latest files of a document; False when ignored (a preview, or
    an older version than the one kept)."""
    async with uow:
        recorded = await uow.documents.record_rendered(event)
        await uow.commit()
    return recorded
