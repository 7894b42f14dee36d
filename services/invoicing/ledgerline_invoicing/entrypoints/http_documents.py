"""Billing runs, the read views and the actions on a document (spec section 5)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from ledgerline_invoicing.entrypoints import schemas
from ledgerline_invoicing.entrypoints.deps import read_unit_of_work, settings_of, unit_of_work
from ledgerline_invoicing.service import billing_runs, reading, run_approval, sending
from ledgerline_invoicing.service.commands import ListDocuments, Regenerate, RequestSend
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_shared import auth
from ledgerline_shared.http_limits import PageNumber
from ledgerline_shared.spreadsheet_safety import neutralise

router = APIRouter(prefix="/api/v1", tags=["invoices"])
READ = Depends(auth.require(auth.READ))
PORTAL_READ = Depends(auth.require(auth.READ, portal=True))
WRITER = Depends(auth.require(auth.WRITE))
UOW = Depends(unit_of_work)
READ_UOW = Depends(read_unit_of_work)


# -- billing runs -----------------------------------------------------------------------------
@router.post("/billing-runs", status_code=202)
async def post_billing_run(
    data: schemas.BillingRunIn,
    request: Request,
    principal: auth.Principal = WRITER,
    uow: InvoicingUnitOfWork = UOW,
) -> dict[str, Any]:
    # Production passes the four-eyes gate (409 with the reason when no approval stands).
    run_id = await run_approval.request_run(uow, settings_of(request), data.command(principal.sub))
    request.app.state.billing_runner.start(run_id)
    return {"id": run_id, "status": "queued"}


@router.get("/billing-runs/{run_id}", dependencies=[READ])
async def get_billing_run(run_id: str, uow: InvoicingUnitOfWork = READ_UOW) -> dict[str, Any]:
    return await billing_runs.get_run(uow, run_id)


# -- read views ---------------------------------------------------------------------------------
@router.get("/invoices")
async def list_invoices(
    month: str = Query(pattern=schemas.PERIOD),
    type: str | None = Query(default=None, pattern="^(invoice|credit_note|proforma)$"),
    status: str | None = Query(default=None, pattern="^(issued|partially_credited|credited|cancelled)$"),
    q: str | None = Query(default=None, max_length=200),
    sort: str = Query(default="number", pattern="^-?(number|issue_date|client|total)$"),
    page: PageNumber = 1,
    page_size: int = Query(default=50, ge=1, le=500),
    principal: auth.Principal = PORTAL_READ,
    uow: InvoicingUnitOfWork = READ_UOW,
) -> dict[str, Any]:
    return await reading.month_list(
        uow,
        ListDocuments(
            month=month,
            type_=type,
            status=status,
            q=q,
            sort=sort,
            page=page,
            page_size=page_size,
            client_ids=None if principal.is_staff else principal.client_ids,
        ),
    )


@router.get("/previews", dependencies=[READ])
async def list_previews(
    period: str = Query(pattern=schemas.PERIOD), uow: InvoicingUnitOfWork = READ_UOW
) -> list[dict[str, Any]]:
    return await reading.previews(uow, period)


@router.get("/clients/{client_id}/invoices")
async def client_invoices(
    client_id: str,
    limit: int | None = Query(default=None, ge=1, le=500),
    page: PageNumber = 1,
    page_size: int = Query(default=50, ge=1, le=500),
    principal: auth.Principal = PORTAL_READ,
    uow: InvoicingUnitOfWork = READ_UOW,
) -> list[dict[str, Any]]:
    if not principal.may_read_client(client_id):
        raise HTTPException(403, detail="another client's data")
    if limit is not None:
        return await reading.client_documents(uow, client_id, limit, 0)
    return await reading.client_documents(uow, client_id, page_size, (page - 1) * page_size)


@router.get("/invoices/{number}")
async def invoice_detail(
    number: str, principal: auth.Principal = PORTAL_READ, uow: InvoicingUnitOfWork = READ_UOW
) -> dict[str, Any]:
    # Existence hiding: a portal user cannot tell another client's number exists.
    return await reading.invoice_detail(uow, number, principal.may_read_client)


@router.get("/invoices/{number}/consumption")
async def invoice_consumption(
    number: str,
    page: PageNumber = 1,
    page_size: int = Query(default=100, ge=1, le=1000),
    principal: auth.Principal = PORTAL_READ,
    uow: InvoicingUnitOfWork = READ_UOW,
) -> dict[str, Any]:
    return await reading.consumption_page(uow, number, page, page_size, principal.may_read_client)


CONSUMPTION_COLUMNS = (
    "cdr_id",
    "started_at",
    "kind",
    "caller",
    "callee",
    "destination",
    "duration_s",
    "billable_s",
    "units",
    "cost",
)
# Numbers and timestamps are written as they are; text that came from outside (a CDR id, a caller)
# is neutralised so a spreadsheet shows it instead of evaluating it, as export does.
_NUMERIC_COLUMNS = frozenset({"started_at", "duration_s", "billable_s", "units", "cost"})


def _csv_cell(value: Any, column: str) -> str:
    if value is None:
        return ""
    return str(value) if column in _NUMERIC_COLUMNS else neutralise(str(value))


@router.get("/invoices/{number}/consumption.csv")
async def invoice_consumption_csv(
    number: str, principal: auth.Principal = PORTAL_READ, uow: InvoicingUnitOfWork = READ_UOW
) -> StreamingResponse:
    # Read-only units of work: a slow download holds no write lock (SQLite's BEGIN IMMEDIATE would
    # stop every invoicing write until the client has read the last row).
    billed = await reading.consumption_source(uow, number, principal.may_read_client)

    async def rows() -> AsyncIterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CONSUMPTION_COLUMNS)
        async for out in reading.billed_calls(uow, billed):
            writer.writerow([_csv_cell(out[c], c) for c in CONSUMPTION_COLUMNS])
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        rows(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{billed or number}-consumption.csv"'},
    )


# -- actions --------------------------------------------------------------------------------------
@router.post("/invoices/{number}/send", status_code=202)
async def send_invoice(
    number: str, principal: auth.Principal = WRITER, uow: InvoicingUnitOfWork = UOW
) -> dict[str, Any]:
    return await sending.request_send(uow, RequestSend(number, principal.email or principal.sub))


@router.post("/invoices/{number}/regenerate", status_code=202)
async def regenerate_invoice(
    number: str, principal: auth.Principal = WRITER, uow: InvoicingUnitOfWork = UOW
) -> dict[str, Any]:
    """A new PDF version with the current branding and the client's current address."""
    return await sending.regenerate(uow, Regenerate(number, principal.sub))
