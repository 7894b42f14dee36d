"""The clients list and the client record: contacts, subscriptions, one-time section (method C), history."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from ledgerline_backoffice.adapters.api_client import ApiError
from ledgerline_backoffice.domain.form_lines import rows_from_form
from ledgerline_backoffice.domain.formatting import parse_amount
from ledgerline_backoffice.domain.pagination import clamp_page_size
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
from ledgerline_backoffice.service import client_folder
from ledgerline_backoffice.service.documents import q
from ledgerline_backoffice.service.sessions import Person

router = APIRouter(tags=["clients"])
CLIENTS = Depends(allowed(Action.VIEW_CLIENTS))
EDITOR = Depends(allowed(Action.EDIT_FOLDER))
NOTICES = {
    "contact": "Contact updated.",
    "item": "Added to the one-time billing section: the next production run bills it.",
    "deactivated": "Item deactivated: no run will bill it.",
    "activated": "Item active again: the next production run bills it.",
}


@router.get("/clients", response_class=HTMLResponse)
async def clients(
    request: Request,
    search: str = Query(default="", alias="q", max_length=200),
    page: int = Query(default=1, ge=1, le=100_000),
    person: Person = CLIENTS,
) -> Response:
    size = clamp_page_size(50)
    found = await client_folder.search(api_of(request), person, search.strip() or None, page, size)
    return render(
        request,
        "clients.html",
        person,
        title="Clients",
        clients=found[:size],
        search=search,
        page=page,
        has_next=len(found) > size,
    )


@router.get("/clients/{client_id}", response_class=HTMLResponse)
async def client_record(
    request: Request, client_id: str, notice: str = "", person: Person = CLIENTS
) -> Response:
    record = await client_folder.record(api_of(request), person, client_id)
    return render(
        request,
        "client.html",
        person,
        title=record.client.get("name", "Client"),
        record=record,
        proforma_rows=rows_from_form({}),
        proforma_error="",
        item_error="",
        notice=NOTICES.get(notice, ""),
    )


@router.get("/clients/{client_id}/history", response_class=HTMLResponse)
async def client_history(
    request: Request,
    client_id: str,
    page: int = Query(default=1, ge=1, le=100_000),
    person: Person = CLIENTS,
) -> Response:
    """The full history tab: every document of the client, newest first, a page at a time."""
    size = clamp_page_size(50)
    client, documents = await client_folder.history(api_of(request), person, client_id, page, size)
    return render(
        request,
        "client_history.html",
        person,
        title=f"{client.get('name', 'Client')}: history",
        client=client,
        documents=documents,
        page=page,
        has_next=len(documents) == size,
    )


@router.post("/clients/{client_id}/contacts/{contact_id}/recipient")
async def toggle_recipient(
    request: Request, client_id: str, contact_id: str, person: Person = EDITOR
) -> Response:
    """The contact's Invoice recipient flag: who the envelope and automatic sending e-mail."""
    form = await checked_form(request, person)
    await client_folder.set_recipient(api_of(request), person, contact_id, field(form, "recipient") == "on")
    return redirect(f"/clients/{q(client_id)}?notice=contact#contacts")


@router.post("/clients/{client_id}/one-time-items", response_class=HTMLResponse)
async def add_item(request: Request, client_id: str, person: Person = EDITOR) -> Response:
    """The one-time billing section; a credit-note article with a negative price is method C."""
    form = await checked_form(request, person)
    article = field(form, "article_code")
    quantity = parse_amount(field(form, "quantity") or "1")
    price_text = field(form, "unit_price")
    price = parse_amount(price_text) if price_text else None
    error = ""
    if not article:
        error = "Choose an article."
    elif quantity is None or quantity <= 0:
        error = "The quantity must be a number above zero."
    elif price_text and price is None:
        error = "The unit price must be a number, e.g. -15,00 for a credit."
    if not error:
        item = {
            "article_code": article,
            "quantity": f"{quantity:f}",
            "repeat": "every_cycle" if field(form, "repeat") == "every_cycle" else "once",
        }
        if price is not None:
            item["unit_price"] = f"{price:f}"
        if field(form, "label"):
            item["label"] = field(form, "label")
        try:
            await client_folder.add_one_time_item(api_of(request), person, client_id, item)
            return redirect(f"/clients/{q(client_id)}?notice=item#one-time")
        except ApiError as exc:
            error = refusal_sentence(exc)
    record = await client_folder.record(api_of(request), person, client_id)
    return render(
        request,
        "client.html",
        person,
        422,
        title=record.client.get("name", "Client"),
        record=record,
        proforma_rows=rows_from_form({}),
        proforma_error="",
        item_error=error,
        notice="",
    )


@router.post("/clients/{client_id}/one-time-items/{item_id}/active")
async def set_item_active(
    request: Request, client_id: str, item_id: str, person: Person = EDITOR
) -> Response:
    form = await checked_form(request, person)
    active = field(form, "active") == "true"
    await client_folder.set_item_active(api_of(request), person, item_id, active)
    return redirect(f"/clients/{q(client_id)}?notice={'activated' if active else 'deactivated'}#one-time")
