"""Correcting an invoice (the user guide's "Credit Notes"): method A (cancel), partial credit
notes, method B (proformas) and sending a proforma on request. Method C is a folder item.

Each write runs in its own transaction that commits before the answer: a 201 means the credit
note or proforma and its event are stored. Who asked is the token's subject.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.entrypoints import schemas
from ledgerline_invoicing.entrypoints.deps import runtime_of, unit_of_work
from ledgerline_invoicing.entrypoints.http_documents import request_send
from ledgerline_invoicing.service import credit_notes, proformas, reading
from ledgerline_shared import auth

router = APIRouter(prefix="/api/v1", tags=["credit notes and proformas"])
WRITER = Depends(auth.require(auth.WRITE))


def _settings(request: Request) -> InvoicingSettings:
    settings: InvoicingSettings = request.app.state.settings
    return settings


async def _credit_out(session: AsyncSession, outcome: credit_notes.CreditOutcome) -> dict[str, Any]:
    invoice = outcome.invoice
    return {
        **(await reading.detail(session, outcome.credit_note)),
        "invoice": {
            "number": invoice.number,
            "status": invoice.status,
            "gross_total": f"{invoice.gross_total:.2f}",
            "credited_total": f"{invoice.credited_total:.2f}",
            "remaining": f"{invoice.gross_total - invoice.credited_total:.2f}",
        },
    }


@router.post("/invoices/{number}/cancel", status_code=201)
async def cancel_invoice(
    number: str, data: schemas.ReasonIn, request: Request, principal: auth.Principal = WRITER
) -> dict[str, Any]:
    """Method A: a credit note for the whole remaining amount; the invoice becomes cancelled."""
    runtime = runtime_of(request)
    async with runtime.sessions() as session, session.begin():
        outcome = await credit_notes.cancel_invoice(
            session,
            runtime,
            _settings(request),
            number=number,
            reason=data.reason,
            requested_by=principal.sub,
        )
        answer = await _credit_out(session, outcome)
    runtime.relay.wake()
    return answer


@router.post("/invoices/{number}/credit-notes", status_code=201)
async def credit_invoice(
    number: str, data: schemas.PartialCreditIn, request: Request, principal: auth.Principal = WRITER
) -> dict[str, Any]:
    """A partial credit note of the given lines (positive amounts, each at a VAT rate of the invoice)."""
    runtime = runtime_of(request)
    async with runtime.sessions() as session, session.begin():
        outcome = await credit_notes.credit_partially(
            session,
            runtime,
            _settings(request),
            number=number,
            reason=data.reason,
            lines=data.lines,
            requested_by=principal.sub,
        )
        answer = await _credit_out(session, outcome)
    runtime.relay.wake()
    return answer


@router.post("/clients/{client_id}/proformas", status_code=201)
async def create_proforma(
    client_id: str, data: schemas.ProformaIn, request: Request, principal: auth.Principal = WRITER
) -> dict[str, Any]:
    """Method B: numbered and published at once; sent only on request."""
    runtime = runtime_of(request)
    async with runtime.sessions() as session, session.begin():
        row, _document = await proformas.create_proforma(
            session, runtime, _settings(request), client_id=client_id, data=data, requested_by=principal.sub
        )
        answer = await reading.detail(session, row)
    runtime.relay.wake()
    return answer


@router.post("/proformas/{number}/send", status_code=202)
async def send_proforma(
    number: str,
    request: Request,
    principal: auth.Principal = WRITER,
    session: AsyncSession = Depends(unit_of_work),
) -> dict[str, Any]:
    row = await proformas.get_proforma(session, number)
    return await request_send(session, request, row, principal)
