"""Call records received over HTTP: a JSON batch, or a CSV file streamed in batches (spec section 5)."""

from __future__ import annotations

import codecs
import csv
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import ValidationError

from ledgerline_invoicing.entrypoints.deps import unit_of_work
from ledgerline_invoicing.service.call_record_parsing import CallFields, parse_call_record
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_invoicing.service.usage import (
    MAX_BATCH,
    MAX_CSV_LINE_CHARS,
    IngestionResult,
    RatingContext,
    ingest,
)
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


CSV_FIELDS = ("cdr_id", "account", "started_at", "kind", "duration_s", "units", "caller", "callee")


@router.post("/usage.csv", dependencies=[WRITE])
async def post_usage_csv(
    request: Request, uow: InvoicingUnitOfWork = Depends(unit_of_work)
) -> dict[str, Any]:
    """Streamed: read, validated and stored in batches, each batch its own transaction."""
    result = IngestionResult()
    ctx = RatingContext()
    batch: list[CallRecord | CallFields] = []
    header: list[str] | None = None
    pending = ""
    line_no = 0

    async def flush() -> None:
        if batch:
            result.merge(await ingest(uow, batch, ctx))  # one transaction per batch
            batch.clear()

    async def refuse_if_too_long(line: str, number: int) -> None:
        if len(line) > MAX_CSV_LINE_CHARS:
            await flush()  # the lines before it are stored, as a batch would have been
            raise HTTPException(
                413,
                detail=f"line {number} is longer than {MAX_CSV_LINE_CHARS} characters: not a call record"
                " (the lines before it were stored)",
            )

    async def take(line: str) -> None:
        nonlocal header, line_no
        line_no += 1
        if not line.strip():
            return
        fields = next(csv.reader([line.rstrip("\r")]))
        if header is None:
            header = [f.strip() for f in fields]
            missing = [f for f in ("cdr_id", "account", "started_at", "kind") if f not in header]
            if missing:
                raise HTTPException(422, detail=f"CSV header lacks {', '.join(missing)}")
            return
        raw = {k: (v if v != "" else None) for k, v in zip(header, fields, strict=False) if k in CSV_FIELDS}
        try:
            batch.append(parse_call_record(raw))  # CallRecord's validation, fast on the usual shapes
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            cdr_id = str(raw.get("cdr_id") or f"line {line_no}")
            result.rejected.append({"cdr_id": cdr_id, "reason": f"{field}: {err['msg']}"})
        if len(batch) >= 5000:
            await flush()

    decoder = codecs.getincrementaldecoder("utf-8")()  # a character may straddle two chunks
    async for chunk in request.stream():
        pending += decoder.decode(chunk)
        *lines, pending = pending.split("\n")
        for line in lines:
            await refuse_if_too_long(line, line_no + 1)
            await take(line)
        await refuse_if_too_long(pending, line_no + 1)  # an endless line is refused as it grows
    await take(pending)  # a last line without its newline
    await flush()
    return result.as_dict()
