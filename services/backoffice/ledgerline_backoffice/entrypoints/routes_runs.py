"""Documents → Pre-production: start a preview or production run, its progress bar, report and previews."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ledgerline_backoffice.adapters.api_client import ApiError
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
from ledgerline_backoffice.service import billing_runs
from ledgerline_backoffice.service.documents import q
from ledgerline_backoffice.service.sessions import Person

router = APIRouter(tags=["pre-production"])
VIEWER = Depends(allowed(Action.VIEW_PREVIEWS))


def last_month(today: dt.date | None = None) -> str:
    first = (today or dt.date.today()).replace(day=1)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


@router.get("/pre-production", response_class=HTMLResponse)
async def pre_production(
    request: Request, period: str | None = None, run: str = "", error: str = "", person: Person = VIEWER
) -> Response:
    chosen = month_of(period or last_month())
    api = api_of(request)
    previews = await billing_runs.previews(api, person, chosen)
    run_state = await billing_runs.status(api, person, run) if run else None
    return render(
        request,
        "preproduction.html",
        person,
        title="Pre-production",
        period=chosen,
        previews=previews,
        run=run_state,
        progress=billing_runs.progress_of(run_state) if run_state else None,
        error="",
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
        message = refusal_sentence(exc)
        previews = await billing_runs.previews(api_of(request), person, period)
        return render(
            request,
            "preproduction.html",
            person,
            exc.status,
            title="Pre-production",
            period=period,
            previews=previews,
            run=None,
            progress=None,
            error=message,
        )
    return redirect(f"/pre-production?period={period}&run={q(run_id)}")


@router.get("/pre-production/runs/{run_id}/progress")
async def run_progress(request: Request, run_id: str, person: Person = VIEWER) -> JSONResponse:
    """What the progress bar polls (JSON of counters only; the page reloads when the run ends)."""
    run = await billing_runs.status(api_of(request), person, run_id)
    return JSONResponse(billing_runs.progress_of(run), headers={"Cache-Control": "no-store"})
