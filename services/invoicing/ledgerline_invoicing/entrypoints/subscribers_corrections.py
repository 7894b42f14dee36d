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
from ledgerline_invoicing.service.errors import NotFound
from ledgerline_shared.contracts.events import CreditNoteRequested
from ledgerline_shared.messaging.consumer import Handler, Inbound, PermanentError
from ledgerline_shared.runtime import ServiceRuntime
from ledgerline_shared.topics import CREDITNOTE_REQUESTED


def credit_note_requested(
    runtime: ServiceRuntime, settings: InvoicingSettings
) -> Handler[CreditNoteRequested]:
    async def handle(event: Inbound[CreditNoteRequested], session: AsyncSession) -> None:
        # Who asked: the requester the event names, else the system that published it.
        requested_by = event.data.requested_by or event.envelope.source
        try:
            await credit_notes.apply_credit_request(session, runtime, settings, event.data, requested_by)
        except DomainError as refusal:
            raise PermanentError(
                f"credit note refused for {event.data.invoice_number}: {refusal}"
            ) from refusal
        except NotFound as missing:
            raise PermanentError(f"credit note refused: {missing}") from missing

    return handle


def register(runtime: ServiceRuntime, settings: InvoicingSettings) -> None:
    runtime.subscribe(CREDITNOTE_REQUESTED, credit_note_requested(runtime, settings))
