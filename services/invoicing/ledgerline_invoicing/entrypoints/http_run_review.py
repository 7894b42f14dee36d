"""Billing runs listed, a preview run's review (JSON, CSV) and its approvals (issue 15)."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import Field

from ledgerline_invoicing.domain.run_review import FlagCode
from ledgerline_invoicing.entrypoints import schemas
from ledgerline_invoicing.entrypoints.deps import read_unit_of_work, settings_of, unit_of_work
from ledgerline_invoicing.service import billing_runs, run_approval
from ledgerline_invoicing.service.commands import ApproveRun
from ledgerline_invoicing.service.run_review import CSV_COLUMNS, review_csv_rows, review_for_csv
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_shared import auth
from ledgerline_shared.spreadsheet_safety import neutralise

router = APIRouter(prefix="/api/v1", tags=["billing runs"])
READ = Depends(auth.require(auth.READ))
READ_UOW = Depends(read_unit_of_work)


class ApprovalIn(schemas.Strict):
    comment: str | None = Field(default=None, max_length=2000)
    acknowledged_flags: list[FlagCode] = Field(default_factory=list, max_length=len(FlagCode))


@router.get("/billing-runs", dependencies=[READ])
async def list_billing_runs(
    period: str | None = Query(default=None, pattern=schemas.PERIOD),
    mode: str | None = Query(default=None, pattern="^(preview|production)$"),
    page: int = Query(default=1, ge=1),
    page_size: int = Query(default=20, ge=1, le=200),
    uow: InvoicingUnitOfWork = READ_UOW,
) -> dict[str, Any]:
    """Billing runs, newest first (Documents → Pre-production's run list)."""
    return await billing_runs.list_runs(uow, period=period, mode=mode, page=page, page_size=page_size)


@router.get("/billing-runs/{run_id}/review", dependencies=[READ])
async def get_review(
    run_id: str,
    request: Request,
    flag: FlagCode | None = Query(default=None),
    page: int = Query(default=1, ge=1),
    page_size: int = Query(default=100, ge=1, le=1000),
    uow: InvoicingUnitOfWork = READ_UOW,
) -> dict[str, Any]:
    """A completed preview run reviewed by exception: counts per flag, the flagged previews by impact
    (`flag` keeps one flag's), totals against the previous period, and the run's approvals."""
    return await run_approval.review_report(
        uow, settings_of(request), run_id, flag=flag, page=page, page_size=page_size
    )


@router.get("/billing-runs/{run_id}/review.csv", dependencies=[READ])
async def get_review_csv(run_id: str, request: Request, uow: InvoicingUnitOfWork = READ_UOW) -> Response:
    """One row per flag of each flagged preview, by impact; text cells neutralised as exports are."""
    run, review = await review_for_csv(uow, settings_of(request), run_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in review_csv_rows(review):
        writer.writerow([neutralise(cell) if isinstance(cell, str) else f"{cell:f}" for cell in row])
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="review-{run.period}-{run.id}.csv"'},
    )


@router.post("/billing-runs/{run_id}/approve", status_code=201)
async def approve_billing_run(
    run_id: str,
    data: ApprovalIn,
    request: Request,
    principal: auth.Principal = Depends(auth.require(auth.WRITE)),
    uow: InvoicingUnitOfWork = Depends(unit_of_work),
) -> dict[str, Any]:
    """A second person approves a completed preview run (four eyes): with a comment, or each blocking
    flag acknowledged. Refused for the person who started it (403)."""
    command = ApproveRun(
        run_id=run_id,
        approver=principal.sub,
        approver_name=principal.name,
        comment=data.comment,
        acknowledged=tuple(code.value for code in data.acknowledged_flags),
    )
    return await run_approval.approve_run(uow, settings_of(request), command)


@router.get("/billing-runs/{run_id}/approvals", dependencies=[READ])
async def get_approvals(run_id: str, uow: InvoicingUnitOfWork = READ_UOW) -> list[dict[str, Any]]:
    """Every approval of the run, newest first, each with whether it still stands and why not."""
    return await run_approval.approvals(uow, run_id)
