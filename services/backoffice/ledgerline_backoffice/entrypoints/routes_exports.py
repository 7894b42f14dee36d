"""Documents → Invoice export, Grouped invoice printing, Accounting → Accounting exports (jobs with
progress, then the file), and Your name → Info (the SFTP login, a new password shown once)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledgerline_backoffice.adapters.api_client import ApiError
from ledgerline_backoffice.domain.api_errors import readable_failure
from ledgerline_backoffice.domain.roles import Action
from ledgerline_backoffice.entrypoints.downloads import relay
from ledgerline_backoffice.entrypoints.web import (
    Forbidden,
    allowed,
    api_of,
    checked_form,
    field,
    redirect,
    refusal_sentence,
    render,
    signed_in,
)
from ledgerline_backoffice.service import exports
from ledgerline_backoffice.service.documents import q
from ledgerline_backoffice.service.sessions import Person

router = APIRouter(tags=["exports"])


@dataclass(frozen=True)
class ExportScreen:
    path: str
    kind: str
    action: Action
    title: str
    intro: str
    button: str


SCREENS = {
    "invoice-export": ExportScreen(
        "/exports/invoice-export",
        "excel",
        Action.EXPORT_EXCEL,
        "Invoice export",
        "A spreadsheet with every invoice, credit note and proforma issued in the date range.",
        "Export",
    ),
    "grouped-printing": ExportScreen(
        "/exports/grouped-printing",
        "grouped_pdf",
        Action.EXPORT_GROUPED_PDF,
        "Grouped invoice printing",
        "One PDF of every document issued in the date range, in number order, with a bookmark each.",
        "Edit",
    ),
    "accounting": ExportScreen(
        "/exports/accounting",
        "accounting",
        Action.EXPORT_ACCOUNTING,
        "Accounting exports",
        "A file for your accounting software. The export report is sent to you by e-mail once it is ready.",
        "Schedule",
    ),
}
ANY_EXPORT = (Action.EXPORT_EXCEL, Action.EXPORT_GROUPED_PDF, Action.EXPORT_ACCOUNTING)


def _screen(
    request: Request, person: Person, screen: ExportScreen, status: int = 200, **values: str
) -> Response:
    today = dt.date.today()
    defaults = {"date_from": today.replace(day=1).isoformat(), "date_to": today.isoformat(), "format": "fec"}
    return render(
        request,
        "export_form.html",
        person,
        status,
        title=screen.title,
        screen=screen,
        formats=exports.ACCOUNTING_FORMATS,
        values={**defaults, **values},
        error=values.get("error", ""),
    )


def _screen_for(name: str, person: Person) -> ExportScreen:
    screen = SCREENS.get(name)
    if screen is None:
        raise StarletteHTTPException(404)
    if not person.may(screen.action):
        raise Forbidden("Your role does not allow this export. Ask an administrator if you need it.")
    return screen


@router.get("/exports/{name}", response_class=HTMLResponse)
async def export_form(request: Request, name: str, person: Person = Depends(signed_in)) -> Response:
    return _screen(request, person, _screen_for(name, person))


@router.post("/exports/{name}", response_class=HTMLResponse)
async def start_export(request: Request, name: str, person: Person = Depends(signed_in)) -> Response:
    screen = _screen_for(name, person)
    form = await checked_form(request, person)
    values = {"date_from": field(form, "from"), "date_to": field(form, "to"), "format": field(form, "format")}
    if not values["date_from"] or not values["date_to"]:
        return _screen(request, person, screen, 422, **values, error="Choose both dates of the range.")
    if values["date_from"] > values["date_to"]:
        return _screen(
            request, person, screen, 422, **values, error="The range ends before it starts: swap the dates."
        )
    fmt = values["format"] if screen.kind == "accounting" else None
    try:
        export_id = await exports.start(
            api_of(request), person, screen.kind, values["date_from"], values["date_to"], fmt
        )
    except ApiError as exc:
        return _screen(request, person, screen, exc.status, **values, error=refusal_sentence(exc))
    return redirect(f"/exports/jobs/{q(export_id)}")


@router.get("/exports/jobs/{export_id}", response_class=HTMLResponse)
async def export_job(request: Request, export_id: str, person: Person = Depends(signed_in)) -> Response:
    if not any(person.may(a) for a in ANY_EXPORT):
        raise Forbidden("Your role does not allow exports. Ask an administrator if you need it.")
    job = await exports.job(api_of(request), person, export_id)
    screen = next((s for s in SCREENS.values() if s.kind == job.get("kind")), SCREENS["invoice-export"])
    return render(
        request,
        "export_job.html",
        person,
        title=screen.title,
        screen=screen,
        job=job,
        failure=readable_failure(job.get("error")),
        progress=exports.progress_of(job),
        formats=exports.ACCOUNTING_FORMATS,
    )


@router.get("/exports/jobs/{export_id}/progress")
async def export_progress(
    request: Request, export_id: str, person: Person = Depends(signed_in)
) -> JSONResponse:
    job = await exports.job(api_of(request), person, export_id)
    return JSONResponse(exports.progress_of(job), headers={"Cache-Control": "no-store"})


@router.get("/exports/jobs/{export_id}/file")
async def export_file(request: Request, export_id: str, person: Person = Depends(signed_in)) -> Response:
    path = f"/api/v1/exports/{q(export_id)}/file"
    return await relay(api_of(request), "export", path, person.token, inline_pdf=True)


@router.get("/info", response_class=HTMLResponse)
async def info(request: Request, person: Person = Depends(signed_in)) -> Response:
    """Your name → Info: who you are, your roles, your SFTP login."""
    sftp, unavailable = None, False
    if person.may(Action.SFTP_INFO):
        try:
            sftp = await exports.sftp_login(api_of(request), person)
        except ApiError as exc:
            if not exc.unreachable:
                raise
            unavailable = True  # the rest of the page is still worth showing
    return render(
        request, "info.html", person, title="Info", sftp=sftp, password=None, sftp_unavailable=unavailable
    )


@router.post("/info/sftp-password", response_class=HTMLResponse)
async def new_sftp_password(
    request: Request, person: Person = Depends(allowed(Action.SFTP_NEW_PASSWORD))
) -> Response:
    """The new password is in this page only: the export service keeps only its hash."""
    await checked_form(request, person)
    issued = await exports.new_sftp_password(api_of(request), person)
    response = render(
        request, "info.html", person, title="Info", sftp=issued, password=issued.get("password")
    )
    return response
