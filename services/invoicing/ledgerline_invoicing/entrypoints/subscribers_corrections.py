"""creditnote.requested: another system (CRM, ERP, a script) asks for a credit note.

Without lines it is method A (cancel the invoice for its whole remaining amount), with lines a
partial credit. Idempotent twice over: on ce_id (the consumer) and on request_id (the service).
A request that can never succeed (unknown invoice, a preview, a credit note, already cancelled,
beyond the remaining amount, no reason) raises PermanentError: it goes to the dead-letter topic
with the refusal as its reason, and nothing is changed.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.domain.errors import DomainError
from ledgerline_invoicing.service import credit_notes
from ledgerline_invoicing.service.commands import ApplyCreditRequest, CreditLine
from ledgerline_invoicing.service.errors import NotFound
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_shared.contracts.events import CreditNoteRequested
from ledgerline_shared.messaging.consumer import Handler, Inbound, PermanentError
from ledgerline_shared.runtime import ServiceRuntime
from ledgerline_shared.topics import CREDITNOTE_REQUESTED


def command_of(event: Inbound[CreditNoteRequested]) -> ApplyCreditRequest:
    request = event.data
    lines = None
    if request.lines is not None:
        lines = tuple(
            CreditLine(
                label=line.label,
                quantity=line.quantity,
                unit_price=line.unit_price,
                vat_rate=line.vat_rate,
                article_code=line.article_code,
            )
            for line in request.lines
        )
    return ApplyCreditRequest(
        request_id=request.request_id,
        invoice_number=request.invoice_number,
        reason=request.reason,
        lines=lines,
        # Who asked: the requester the event names, else the system that published it.
        requested_by=request.requested_by or event.envelope.source,
    )


def credit_note_requested(
    runtime: ServiceRuntime, settings: InvoicingSettings
) -> Handler[CreditNoteRequested]:
    async def handle(event: Inbound[CreditNoteRequested], session: AsyncSession) -> None:
        uow = InvoicingUnitOfWork.joining(session, runtime.event_sink, event.after_commit)
        try:
            await credit_notes.apply_credit_request(uow, settings, command_of(event))
        except DomainError as refusal:
            raise PermanentError(
                f"credit note refused for {event.data.invoice_number}: {refusal}"
            ) from refusal
        except NotFound as missing:
            raise PermanentError(f"credit note refused: {missing}") from missing

    return handle


def register(runtime: ServiceRuntime, settings: InvoicingSettings) -> None:
    runtime.subscribe(CREDITNOTE_REQUESTED, credit_note_requested(runtime, settings))
