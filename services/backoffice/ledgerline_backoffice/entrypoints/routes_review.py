"""Documents → Pre-production: a preview run's review as CSV, a flagged preview beside the client's last
invoice, and the four-eyes approval form (issue 15)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ledgerline_backoffice.adapters.api_client import ApiError
from ledgerline_backoffice.domain.api_errors import first_message
from ledgerline_backoffice.domain.roles import Action
from ledgerline_backoffice.entrypoints.downloads import relay
from ledgerline_backoffice.entrypoints.routes_runs import page
from ledgerline_backoffice.entrypoints.web import (
    allowed,
    api_of,
    checked_form,
    field,
    month_of,
    redirect,
    refusal_sentence,
    render,
)
from ledgerline_backoffice.service import run_review
from ledgerline_backoffice.service.documents import q
from ledgerline_backoffice.service.sessions import Person

router = APIRouter(tags=["pre-production"])
VIEWER = Depends(allowed(Action.VIEW_PREVIEWS))
# Approving is a billing decision: the roles that run billing (billing, admin) approve too.
APPROVER = Depends(allowed(Action.RUN_BILLING))


@router.get("/pre-production/runs/{run_id}/review.csv")
async def review_csv(request: Request, run_id: str, person: Person = VIEWER) -> Response:
    path = f"/api/v1/billing-runs/{q(run_id)}/review.csv"
    return await relay(api_of(request), "invoicing", path, person.token)


@router.get("/pre-production/runs/{run_id}/previews/{document_id}", response_class=HTMLResponse)
async def compare(request: Request, run_id: str, document_id: str, person: Person = VIEWER) -> Response:
    """A flagged preview beside the client's last invoice: two columns on a desk, stacked on a phone."""
    api = api_of(request)
    review = await run_review.review(api, person, run_id, page_size=1000) or {}
    items = (review.get("flagged") or {}).get("items") or []
    flagged = next((i for i in items if i.get("document_id") == document_id), None)
    preview = await api.call("invoicing", "GET", f"/api/v1/invoices/{q(document_id)}", person.token)
    last = (flagged or {}).get("last_invoice") or {}
    previous = await run_review.last_invoice(api, person, last["number"]) if last.get("number") else None
    return render(
        request,
        "review_compare.html",
        person,
        title="Flagged preview",
        run_id=run_id,
        period=review.get("period") or preview.get("period") or "",
        flagged=flagged,
        preview=preview,
        previous=previous,
        flag_name=run_review.flag_name,
    )


@router.post("/pre-production/runs/{run_id}/approve", response_class=HTMLResponse)
async def approve(request: Request, run_id: str, person: Person = APPROVER) -> Response:
    form = await checked_form(request, person)
    period = month_of(field(form, "period"))
    acknowledged = [v for v in form.getlist("acknowledged_flags") if isinstance(v, str)]
    try:
        await run_review.approve(api_of(request), person, run_id, field(form, "comment"), acknowledged)
    except ApiError as exc:
        # Four eyes (403) is the API's sentence, not a missing role: the person may approve others' runs.
        own = exc.status == 403 and first_message(exc.detail)
        message = own or refusal_sentence(exc)
        return await page(request, person, period, approval_error=message, status_code=exc.status)
    return redirect(f"/pre-production?period={period}#approvals")
