"""Documents → Pre-production: start a preview or production run, its progress bar, report and previews."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ledgerline_backoffice.adapters.api_client import ApiError
from ledgerline_backoffice.domain.api_errors import first_message
from ledgerline_backoffice.domain.roles import Action
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
from ledgerline_backoffice.service import billing_runs, run_review
from ledgerline_backoffice.service.documents import q
from ledgerline_backoffice.service.sessions import Person

router = APIRouter(tags=["pre-production"])
VIEWER = Depends(allowed(Action.VIEW_PREVIEWS))


def last_month(today: dt.date | None = None) -> str:
    first = (today or dt.date.today()).replace(day=1)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


@router.get("/pre-production", response_class=HTMLResponse)
async def pre_production(
    request: Request, period: str | None = None, run: str = "", flag: str = "", person: Person = VIEWER
) -> Response:
    chosen = month_of(period or last_month())
    run_state = await billing_runs.status(api_of(request), person, run) if run else None
    return await page(request, person, chosen, run_state=run_state, flag=flag)


async def page(
    request: Request,
    person: Person,
    period: str,
    *,
    run_state: dict[str, Any] | None = None,
    flag: str = "",
    error: str = "",
    approval_error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """The Pre-production page: the run asked for, the latest preview run's review, the previews."""
    api = api_of(request)
    previews = await billing_runs.previews(api, person, period)
    review_run = await run_review.latest_preview_run(api, person, period)
    flag = flag if flag in run_review.FLAG_NAMES else ""
    review = await run_review.review(api, person, review_run["id"], flag) if review_run else None
    return render(
        request,
        "preproduction.html",
        person,
        status_code,
        title="Pre-production",
        period=period,
        previews=previews,
        run=run_state,
        progress=billing_runs.progress_of(run_state) if run_state else None,
        error=error,
        review_run=review_run,
        review=review,
        flag=flag,
        flag_name=run_review.flag_name,
        own_run=bool(review) and run_review.started_by(review or {}, person),
        approval_error=approval_error,
    )


@router.post("/pre-production", response_class=HTMLResponse)
async def start_run(request: Request, person: Person = Depends(allowed(Action.RUN_BILLING))) -> Response:
    form = await checked_form(request, person)
    period = month_of(field(form, "period"))
    mode = field(form, "mode")
    if mode not in billing_runs.MODES:
        mode = "preview"
    try:
        run_id = await billing_runs.start(api_of(request), person, period, mode)
    except ApiError as exc:
        # A production refused for want of approval (409) says why, in the API's own sentence.
        message = (first_message(exc.detail) if exc.status == 409 else "") or refusal_sentence(exc)
        return await page(request, person, period, error=message, status_code=exc.status)
    return redirect(f"/pre-production?period={period}&run={q(run_id)}")


@router.get("/pre-production/runs/{run_id}/progress")
async def run_progress(request: Request, run_id: str, person: Person = VIEWER) -> JSONResponse:
    """What the progress bar polls (JSON of counters only; the page reloads when the run ends)."""
    run = await billing_runs.status(api_of(request), person, run_id)
    return JSONResponse(billing_runs.progress_of(run), headers={"Cache-Control": "no-store"})
