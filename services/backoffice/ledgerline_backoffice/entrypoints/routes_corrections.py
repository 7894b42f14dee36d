"""Tools → Credit note invoice (method A and partial credit) and the client record's proformas (method B)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ledgerline_backoffice.adapters.api_client import ApiError
from ledgerline_backoffice.domain.form_lines import parse_lines, rows_from_form
from ledgerline_backoffice.domain.roles import Action
from ledgerline_backoffice.entrypoints.web import (
    allowed,
    api_of,
    checked_form,
    field,
    redirect,
    refusal_sentence,
    render,
)
from ledgerline_backoffice.service import client_folder, documents
from ledgerline_backoffice.service.documents import q
from ledgerline_backoffice.service.sessions import Person

router = APIRouter(tags=["credit notes"])
CREDITOR = Depends(allowed(Action.CREDIT))
MODES = ("cancel", "partial")


async def _invoice_or_none(request: Request, person: Person, number: str) -> dict[str, object] | None:
    if not number:
        return None
    try:
        view = await documents.invoice_view(api_of(request), person, number)
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise
    return view.detail


@router.get("/tools/credit-note", response_class=HTMLResponse)
async def credit_note_form(
    request: Request, number: str = "", mode: str = "cancel", person: Person = CREDITOR
) -> Response:
    """Method A of the guide: enter the invoice number, a reason, confirm (or credit only some lines)."""
    number = number.strip()
    invoice = await _invoice_or_none(request, person, number)
    error = (
        f"There is no invoice {number}. Check the number and try again." if number and invoice is None else ""
    )
    return render(
        request,
        "credit_note.html",
        person,
        404 if error else 200,
        title="Credit note invoice",
        number=number,
        invoice=invoice,
        mode=mode if mode in MODES else "cancel",
        reason="",
        rows=rows_from_form({}),
        error=error,
    )


@router.post("/tools/credit-note", response_class=HTMLResponse)
async def credit_note(request: Request, person: Person = CREDITOR) -> Response:
    form = await checked_form(request, person)
    number, reason, mode = field(form, "number"), field(form, "reason"), field(form, "mode")
    mode = mode if mode in MODES else "cancel"
    rows = rows_from_form(form)
    errors: list[str] = []
    if not number:
        errors.append("Enter the number of the invoice to credit.")
    if not reason:
        errors.append("Give a reason: it is printed on the credit note and required by law.")
    parsed = parse_lines(rows, allow_negative=False) if mode == "partial" else None
    if parsed is not None:
        errors += parsed.errors
    status = 422
    if not errors:
        try:
            if parsed is not None:
                note = await documents.credit_partially(api_of(request), person, number, reason, parsed.lines)
            else:
                note = await documents.cancel(api_of(request), person, number, reason)
            return redirect(f"/invoices/{q(str(note['number']))}?notice=credited")
        except ApiError as exc:
            errors.append(refusal_sentence(exc))
            status = exc.status
    invoice = await _invoice_or_none(request, person, number)
    return render(
        request,
        "credit_note.html",
        person,
        status,
        title="Credit note invoice",
        number=number,
        invoice=invoice,
        mode=mode,
        reason=reason,
        rows=rows,
        error=" ".join(errors),
    )


@router.post("/clients/{client_id}/proformas", response_class=HTMLResponse)
async def create_proforma(
    request: Request, client_id: str, person: Person = Depends(allowed(Action.PROFORMA))
) -> Response:
    """Method B: lines with a minus sign for the credit; numbered at once, sent only on request."""
    form = await checked_form(request, person)
    rows = rows_from_form(form)
    parsed = parse_lines(rows, allow_negative=True)
    error = " ".join(parsed.errors)
    status = 422
    if not error:
        try:
            proforma = await client_folder.create_proforma(
                api_of(request), person, client_id, parsed.lines, field(form, "reason") or None
            )
            return redirect(f"/invoices/{q(str(proforma['number']))}?notice=proforma")
        except ApiError as exc:
            error, status = refusal_sentence(exc), exc.status
    record = await client_folder.record(api_of(request), person, client_id)
    return render(
        request,
        "client.html",
        person,
        status,
        title=record.client.get("name", "Client"),
        record=record,
        proforma_rows=rows,
        proforma_error=error,
        item_error="",
        notice="",
    )
