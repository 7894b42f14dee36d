"""Documents → Invoices, the invoice detail and its actions, consumption, and the document files."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from ledgerline_backoffice.domain.pagination import Pagination, clamp_page_size
from ledgerline_backoffice.domain.roles import Action
from ledgerline_backoffice.entrypoints.downloads import relay
from ledgerline_backoffice.entrypoints.web import (
    allowed,
    api_of,
    checked_form,
    month_of,
    redirect,
    render,
    signed_in,
)
from ledgerline_backoffice.service import documents
from ledgerline_backoffice.service.documents import q
from ledgerline_backoffice.service.sessions import Person

router = APIRouter(tags=["documents"])
READER = Depends(allowed(Action.VIEW_DOCUMENTS))
SORTS = ("number", "issue_date", "client", "total")
TYPES = {"invoice": "Invoices", "credit_note": "Credit notes", "proforma": "Proformas"}
STATUSES = ("issued", "partially_credited", "credited", "cancelled")
NOTICES = {
    "sent": "Sending requested: the delivery log below shows who received it, once the mail is out.",
    "regenerated": "Regeneration requested: the new version appears in the badge within a few seconds.",
    "credited": "Credit note issued and linked to its invoice.",
    "proforma": "Proforma created. It is not e-mailed automatically: use the envelope to send it.",
}


@router.get("/")
async def home(person: Person = Depends(signed_in)) -> Response:
    if person.may(Action.VIEW_DOCUMENTS):
        return redirect("/invoices")
    return redirect("/info")


@router.get("/invoices", response_class=HTMLResponse)
async def invoice_list(
    request: Request,
    month: str | None = None,
    type: str = "",
    status: str = "",
    search: str = Query(default="", alias="q", max_length=200),
    sort: str = "number",
    page: int = Query(default=1, ge=1, le=100_000),
    page_size: int = 50,
    person: Person = READER,
) -> Response:
    """Documents → Invoices: the month's documents, sorted, searched, one page at a time."""
    chosen_month = month_of(month)
    sort = sort if sort.lstrip("-") in SORTS else "number"
    size = clamp_page_size(page_size)
    result = await documents.month_list(
        api_of(request),
        person,
        month=chosen_month,
        type_=type if type in TYPES else None,
        status=status if status in STATUSES else None,
        search=search.strip() or None,
        sort=sort,
        page=page,
        page_size=size,
    )
    filters = {"month": chosen_month, "type": type, "status": status, "q": search, "page_size": size}
    return render(
        request,
        "invoices.html",
        person,
        title="Invoices",
        items=result["items"],
        pagination=Pagination(page, size, int(result["total"])),
        filters=filters,
        sort=sort,
        types=TYPES,
        statuses=STATUSES,
    )


@router.get("/invoices/export")
async def invoice_list_file(
    request: Request,
    month: str | None = None,
    format: str = "csv",
    person: Person = Depends(allowed(Action.EXPORT_LIST)),
) -> Response:
    """Documents → Invoices → export: the month's list as CSV or XLSX, from the export service."""
    fmt = format if format in ("csv", "xlsx") else "csv"
    return await relay(
        api_of(request),
        "export",
        "/api/v1/exports/invoice-list",
        person.token,
        {"month": month_of(month), "format": fmt},
    )


@router.get("/invoices/{number}", response_class=HTMLResponse)
async def invoice_detail(
    request: Request, number: str, notice: str = "", person: Person = READER
) -> Response:
    view = await documents.invoice_view(api_of(request), person, number)
    return render(
        request,
        "invoice.html",
        person,
        title=view.detail.get("number") or "Preview",
        doc=view.detail,
        versions=view.versions,
        deliveries=view.deliveries,
        unavailable=view.unavailable,
        notice=NOTICES.get(notice, ""),
    )


@router.get("/invoices/{number}/consumption", response_class=HTMLResponse)
async def invoice_consumption(
    request: Request,
    number: str,
    page: int = Query(default=1, ge=1, le=100_000),
    page_size: int = 100,
    person: Person = READER,
) -> Response:
    """The four-tile icon: every rated call of the invoice, a page at a time."""
    size = page_size if page_size in (50, 100, 200, 500) else 100
    result = await documents.consumption(api_of(request), person, number, page, size)
    return render(
        request,
        "consumption.html",
        person,
        title=f"Consumption {number}",
        number=number,
        calls=result["items"],
        pagination=Pagination(page, size, int(result["total"])),
        filters={"page_size": size},
    )


@router.get("/invoices/{number}/consumption.csv")
async def invoice_consumption_csv(request: Request, number: str, person: Person = READER) -> Response:
    return await relay(
        api_of(request), "invoicing", f"/api/v1/invoices/{q(number)}/consumption.csv", person.token
    )


@router.get("/documents/{number}/{kind}")
async def document_file(
    request: Request,
    number: str,
    kind: str,
    version: int | None = Query(default=None, ge=1),
    person: Person = READER,
) -> Response:
    """PDF, UBL or JSON of a document (a given version or the latest), streamed from rendering."""
    if kind not in ("pdf", "ubl", "json"):
        return render(request, "error.html", person, 404, title="Not found", message="There is no such file.")
    path = f"/api/v1/documents/{q(number)}/{kind}"
    return await relay(api_of(request), "rendering", path, person.token, {"version": version})


@router.get("/invoices/{number}/send", response_class=HTMLResponse)
async def confirm_send(
    request: Request, number: str, person: Person = Depends(allowed(Action.SEND))
) -> Response:
    """The envelope, first step: who will receive it, before anything is sent."""
    api = api_of(request)
    view = await documents.invoice_view(api, person, number)
    recipients = await documents.recipients(api, person, str(view.detail["client_id"]))
    return render(
        request, "send_confirm.html", person, title=f"Send {number}", doc=view.detail, recipients=recipients
    )


@router.post("/invoices/{number}/send")
async def send(request: Request, number: str, person: Person = Depends(allowed(Action.SEND))) -> Response:
    form = await checked_form(request, person)
    doc_type = form.get("type")
    await documents.send(
        api_of(request), person, number, doc_type if isinstance(doc_type, str) else "invoice"
    )
    return redirect(f"/invoices/{q(number)}?notice=sent")


@router.post("/invoices/{number}/regenerate")
async def regenerate(
    request: Request, number: str, person: Person = Depends(allowed(Action.REGENERATE))
) -> Response:
    await checked_form(request, person)
    await documents.regenerate(api_of(request), person, number)
    return redirect(f"/invoices/{q(number)}?notice=regenerated")


def line_rates(doc: dict[str, Any]) -> list[str]:
    """The VAT rates of an invoice: a partial credit must use one of them."""
    rates = {str(t.get("vat_rate") or t.get("rate") or "") for t in doc.get("tax_breakdown", [])}
    return sorted(r for r in rates if r)
