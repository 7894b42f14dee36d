"""Call records received over HTTP: a JSON batch, or a CSV file streamed in batches (spec section 5)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request

from ledgerline_invoicing.entrypoints.deps import unit_of_work
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_invoicing.service.usage import MAX_BATCH, ingest
from ledgerline_invoicing.service.usage_csv import CsvRefused, ingest_csv
from ledgerline_shared import auth
from ledgerline_shared.contracts.events import CallRecord

router = APIRouter(prefix="/api/v1", tags=["invoices"])
WRITE = Depends(auth.require(auth.WRITE))


# -- call records ---------------------------------------------------------------------------
async def _batch_within_limit(request: Request) -> None:
    """Count the records before any is validated: FastAPI decoded the body (at most
    MAX_BATCH_BYTES, see app.py) and caches it; a batch too long is refused before its records
    are checked one by one."""
    try:
        body = await request.json()
    except ValueError:
        return  # not JSON: the body's own validation says so
    if isinstance(body, list) and len(body) > MAX_BATCH:
        raise HTTPException(413, detail=f"at most {MAX_BATCH} records per batch; use POST /usage.csv")


@router.post("/usage", dependencies=[WRITE, Depends(_batch_within_limit)])
async def post_usage(
    records: list[CallRecord], uow: InvoicingUnitOfWork = Depends(unit_of_work)
) -> dict[str, Any]:
    return (await ingest(uow, records)).as_dict()


@router.post("/usage.csv", dependencies=[WRITE])
async def post_usage_csv(
    request: Request, uow: InvoicingUnitOfWork = Depends(unit_of_work)
) -> dict[str, Any]:
    """Streamed: read, validated and stored in batches, each batch its own transaction."""
    try:
        return (await ingest_csv(uow, request.stream())).as_dict()
    except CsvRefused as refused:
        raise HTTPException(refused.status, detail=refused.detail) from None
