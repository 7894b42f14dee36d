"""Export's HTTP API (spec 8): the month's list, export jobs and their files, the caller's SFTP access."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from ledgerline_export.config import ExportSettings
from ledgerline_export.domain.export_job import COMPLETED, ExportJob
from ledgerline_export.entrypoints.sftp import SftpListener
from ledgerline_export.entrypoints.units_of_work import reading, writing
from ledgerline_export.service.export_jobs import ExportJobs
from ledgerline_export.service.export_requests import ExportRequest
from ledgerline_export.service.invoice_list import LIST_FORMATS, check_list_request, write_invoice_list
from ledgerline_export.service.sftp_accounts import (
    SftpAccount,
    account_of,
    issue_password,
    revoke,
    set_public_keys,
)
from ledgerline_export.service.unit_of_work import ExportUnitOfWork
from ledgerline_shared import auth, roles
from ledgerline_shared.runtime import ServiceRuntime

router = APIRouter(prefix="/api/v1", tags=["exports"])

FILE_TYPES = {
    ".xlsx": LIST_FORMATS["xlsx"],
    ".pdf": "application/pdf",
    ".csv": "text/csv; charset=utf-8",
    ".txt": "text/plain",
    ".iif": "text/plain",
}


class ExportBody(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")
    kind: str = Field(description="excel | grouped_pdf | accounting")
    date_from: dt.date = Field(alias="from")
    date_to: dt.date = Field(alias="to")
    format: str | None = Field(default=None, description="accounting: fec | datev | iif | xero | csv")
    notify: bool = Field(default=False, description="e-mail the requester when done (always for accounting)")


class PublicKeys(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keys: list[str] = Field(description="OpenSSH public key lines; an empty list removes them all")


def _jobs(request: Request) -> ExportJobs:
    jobs: ExportJobs = request.app.state.jobs
    return jobs


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


def _uow(request: Request) -> ExportUnitOfWork:
    return writing(_runtime(request))()


def _read_uow(request: Request) -> ExportUnitOfWork:
    return reading(_runtime(request))()


def job_view(job: ExportJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "format": job.format,
        "from": job.date_from.isoformat(),
        "to": job.date_to.isoformat(),
        "status": job.status,
        "progress": {"done": job.done, "total": job.total, "percent": job.percent},
        "rows": job.rows,
        "report": job.report,
        "error": job.error,
        "file": f"/api/v1/exports/{job.id}/file" if job.status == COMPLETED else None,
        "notify": job.notify,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


@router.get("/exports/invoice-list", response_class=FileResponse)
async def invoice_list(
    request: Request,
    month: str = Query(description="YYYY-MM"),
    format: str = Query(default="csv", description="csv | xlsx"),
    _p: auth.Principal = Depends(auth.require(auth.EXPORT)),
) -> FileResponse:
    fmt = check_list_request(month, format)
    settings: ExportSettings = request.app.state.settings
    scratch = settings.data_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="list-", dir=scratch))
    path = folder / f"invoices-{month}.{fmt}"
    try:
        rows = await write_invoice_list(reading(_runtime(request)), month, fmt, path)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    # Streamed from the file in chunks, then the file is removed.
    return FileResponse(
        path,
        media_type=LIST_FORMATS[fmt],
        filename=path.name,
        headers={"X-Rows": str(rows)},
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


@router.post("/exports", status_code=202)
async def request_export(
    body: ExportBody, request: Request, principal: auth.Principal = Depends(auth.require(auth.EXPORT))
) -> dict[str, Any]:
    job = await _jobs(request).create(
        ExportRequest(body.kind, body.date_from, body.date_to, body.format, body.notify),
        sub=principal.sub,
        email=principal.email,
    )
    return {"id": job.id, "status": job.status, "href": f"/api/v1/exports/{job.id}"}


@router.get("/exports/{export_id}")
async def export_status(
    export_id: uuid.UUID, request: Request, _p: auth.Principal = Depends(auth.require(auth.EXPORT))
) -> dict[str, Any]:
    return job_view(await _jobs(request).get(str(export_id)))


@router.get("/exports/{export_id}/file", response_class=FileResponse)
async def export_file(
    export_id: uuid.UUID, request: Request, _p: auth.Principal = Depends(auth.require(auth.EXPORT))
) -> FileResponse:
    jobs = _jobs(request)
    path = jobs.file_of(await jobs.get(str(export_id)))
    return FileResponse(
        path, media_type=FILE_TYPES.get(path.suffix, "application/octet-stream"), filename=path.name
    )


# ---- the caller's SFTP access (any staff user) --------------------------------------------------------


def _sftp_view(request: Request, username: str) -> dict[str, Any]:
    settings: ExportSettings = request.app.state.settings
    listener: SftpListener = request.app.state.sftp
    return {
        "host": settings.sftp_host,
        "port": listener.port or settings.sftp_port,
        "username": username,
        "root": "/production",
    }


def _account_view(request: Request, account: SftpAccount) -> dict[str, Any]:
    expires, revoked = account.password_expires_at, account.revoked_at
    return _sftp_view(request, account.username) | {
        "password_set": account.password_set,
        "password_expires_at": expires.isoformat() if expires else None,
        "revoked_at": revoked.isoformat() if revoked else None,
        "public_keys": account.keys,
    }


@router.get("/me/sftp", tags=["sftp"])
async def my_sftp(
    request: Request, principal: auth.Principal = Depends(auth.require(auth.READ))
) -> dict[str, Any]:
    settings: ExportSettings = request.app.state.settings
    account = await account_of(_read_uow(request), principal.sub, settings.sftp_login_policy())
    return _account_view(request, account)


@router.post("/me/sftp/password", tags=["sftp"])
async def new_sftp_password(
    request: Request, principal: auth.Principal = Depends(auth.require(auth.READ))
) -> dict[str, Any]:
    """A new password, shown this once (only its hash is kept); the previous one stops working."""
    username, password = await issue_password(_uow(request), principal.sub)
    return _sftp_view(request, username) | {"password": password}


@router.delete("/me/sftp", tags=["sftp"], status_code=204)
async def revoke_my_sftp(
    request: Request, principal: auth.Principal = Depends(auth.require(auth.READ))
) -> None:
    """Revoke one's own SFTP login: password and keys stop working at once (a new password lifts it)."""
    await revoke(_uow(request), by=principal.sub, subject=principal.sub)


@router.delete("/sftp-accounts/{username}", tags=["sftp"], status_code=204)
async def revoke_sftp_account(
    username: str,
    request: Request,
    principal: auth.Principal = Depends(auth.require(frozenset({roles.ADMIN}))),
) -> None:
    """An administrator revokes anyone's SFTP login (a leaked password, someone leaving)."""
    await revoke(_uow(request), by=f"admin:{principal.sub}", username=username)


@router.put("/me/sftp/keys", tags=["sftp"])
async def my_sftp_keys(
    body: PublicKeys, request: Request, principal: auth.Principal = Depends(auth.require(auth.READ))
) -> dict[str, Any]:
    account = await set_public_keys(_uow(request), principal.sub, body.keys)
    return _account_view(request, account)
