"""Correcting an invoice (the user guide's "Credit Notes"): method A (cancel), partial credit
notes, method B (proformas) and sending a proforma on request. Method C is a folder item.

Each write runs in its own transaction that commits before the answer: a 201 means the credit
note or proforma and its event are stored. Who asked is the token's subject.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from ledgerline_invoicing.domain.credit import remaining_creditable
from ledgerline_invoicing.entrypoints import schemas
from ledgerline_invoicing.entrypoints.deps import read_unit_of_work, settings_of, unit_of_work
from ledgerline_invoicing.service import credit_notes, proformas, reading, sending
from ledgerline_invoicing.service.commands import CancelInvoice, RequestSend
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_shared import auth

router = APIRouter(prefix="/api/v1", tags=["credit notes and proformas"])
WRITER = Depends(auth.require(auth.WRITE))
UOW = Depends(unit_of_work)
READ_UOW = Depends(read_unit_of_work)


async def _credit_out(uow: InvoicingUnitOfWork, outcome: credit_notes.CreditOutcome) -> dict[str, Any]:
    invoice = outcome.invoice
    return {
        **(await reading.detail_of(uow, outcome.credit_note)),
        "invoice": {
            "number": invoice.number,
            "status": invoice.status,
            "gross_total": f"{invoice.gross_total:.2f}",
            "credited_total": f"{invoice.credited_total:.2f}",
            "remaining": f"{remaining_creditable(invoice.gross_total, invoice.credited_total):.2f}",
        },
    }


@router.post("/invoices/{number}/cancel", status_code=201)
async def cancel_invoice(
    number: str,
    data: schemas.ReasonIn,
    request: Request,
    principal: auth.Principal = WRITER,
    uow: InvoicingUnitOfWork = UOW,
    view: InvoicingUnitOfWork = READ_UOW,
) -> dict[str, Any]:
    """Method A: a credit note for the whole remaining amount; the invoice becomes cancelled."""
    command = CancelInvoice(number=number, reason=data.reason, requested_by=principal.sub)
    outcome = await credit_notes.cancel_invoice(uow, settings_of(request), command)
    return await _credit_out(view, outcome)


@router.post("/invoices/{number}/credit-notes", status_code=201)
async def credit_invoice(
    number: str,
    data: schemas.PartialCreditIn,
    request: Request,
    principal: auth.Principal = WRITER,
    uow: InvoicingUnitOfWork = UOW,
    view: InvoicingUnitOfWork = READ_UOW,
) -> dict[str, Any]:
    """A partial credit note of the given lines (positive amounts, each at a VAT rate of the invoice)."""
    outcome = await credit_notes.credit_partially(
        uow, settings_of(request), data.command(number, principal.sub)
    )
    return await _credit_out(view, outcome)


@router.post("/clients/{client_id}/proformas", status_code=201)
async def create_proforma(
    client_id: str,
    data: schemas.ProformaIn,
    request: Request,
    principal: auth.Principal = WRITER,
    uow: InvoicingUnitOfWork = UOW,
    view: InvoicingUnitOfWork = READ_UOW,
) -> dict[str, Any]:
    """Method B: numbered and published at once; sent only on request."""
    row, _document = await proformas.create_proforma(
        uow, settings_of(request), data.command(client_id, principal.sub)
    )
    return await reading.detail_of(view, row)


@router.post("/proformas/{number}/send", status_code=202)
async def send_proforma(
    number: str, principal: auth.Principal = WRITER, uow: InvoicingUnitOfWork = UOW
) -> dict[str, Any]:
    return await sending.request_send(
        uow, RequestSend(number, principal.email or principal.sub, proforma=True)
    )
