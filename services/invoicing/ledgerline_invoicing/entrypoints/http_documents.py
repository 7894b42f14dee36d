"""Usage, billing runs, the read views and the actions on a document (spec section 5)."""

from __future__ import annotations

import codecs
import csv
import io
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.orm import BillingRunRow, CallRecordRow, ClientRow, DocumentRow
from ledgerline_invoicing.entrypoints import schemas
from ledgerline_invoicing.entrypoints.deps import runtime_of, unit_of_work
from ledgerline_invoicing.service import billing_runs, reading, run_approval
from ledgerline_invoicing.service.errors import NotFound
from ledgerline_invoicing.service.issuing import buyer_snapshot
from ledgerline_invoicing.service.usage import (
    MAX_BATCH,
    MAX_CSV_LINE_CHARS,
    IngestionResult,
    RatingContext,
    ingest,
)
from ledgerline_shared import auth
from ledgerline_shared.contracts.document import Document
from ledgerline_shared.contracts.events import CallRecord, RenderRequested, SendRequested
from ledgerline_shared.http_limits import PageNumber
from ledgerline_shared.spreadsheet_safety import neutralise
from ledgerline_shared.topics import INVOICE_RENDER_REQUESTED, INVOICE_SEND_REQUESTED

router = APIRouter(prefix="/api/v1", tags=["invoices"])
READ = Depends(auth.require(auth.READ))
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
    records: list[CallRecord], session: AsyncSession = Depends(unit_of_work)
) -> dict[str, Any]:
    return (await ingest(session, records)).as_dict()


CSV_FIELDS = ("cdr_id", "account", "started_at", "kind", "duration_s", "units", "caller", "callee")


@router.post("/usage.csv", dependencies=[WRITE])
async def post_usage_csv(request: Request) -> dict[str, Any]:
    """Streamed: read, validated and stored in batches, each batch its own transaction."""
    runtime = runtime_of(request)
    result = IngestionResult()
    ctx = RatingContext()
    batch: list[CallRecord] = []
    header: list[str] | None = None
    pending = ""
    line_no = 0

    async def flush() -> None:
        if batch:
            async with runtime.sessions() as session, session.begin():
                result.merge(await ingest(session, batch, ctx))
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
            batch.append(CallRecord.model_validate(raw))
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


# -- billing runs -----------------------------------------------------------------------------
@router.post("/billing-runs", status_code=202)
async def post_billing_run(
    data: schemas.BillingRunIn,
    request: Request,
    principal: auth.Principal = Depends(auth.require(auth.WRITE)),
) -> dict[str, Any]:
    runtime = runtime_of(request)
    async with runtime.sessions() as session, session.begin():
        # Production passes the four-eyes gate (409 with the reason when no approval stands).
        run = await run_approval.request_run(
            session, request.app.state.settings, data.period, data.mode, data.client_ids, principal.sub
        )
        run_id = run.id
    request.app.state.billing_runner.start(run_id)
    return {"id": run_id, "status": "queued"}


@router.get("/billing-runs/{run_id}", dependencies=[READ])
async def get_billing_run(run_id: str, session: AsyncSession = Depends(unit_of_work)) -> dict[str, Any]:
    run = await session.get(BillingRunRow, run_id)
    if run is None:
        raise NotFound("billing run", run_id, "run_id")
    return billing_runs.run_out(run)


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
    principal: auth.Principal = Depends(auth.require(auth.READ, portal=True)),
    session: AsyncSession = Depends(unit_of_work),
) -> dict[str, Any]:
    return await reading.month_list(
        session,
        month=month,
        type_=type,
        status=status,
        q=q,
        sort=sort,
        page=page,
        page_size=page_size,
        client_ids=None if principal.is_staff else principal.client_ids,
    )


@router.get("/previews", dependencies=[READ])
async def list_previews(
    period: str = Query(pattern=schemas.PERIOD), session: AsyncSession = Depends(unit_of_work)
) -> list[dict[str, Any]]:
    return await reading.previews(session, period)


@router.get("/clients/{client_id}/invoices")
async def client_invoices(
    client_id: str,
    limit: int | None = Query(default=None, ge=1, le=500),
    page: PageNumber = 1,
    page_size: int = Query(default=50, ge=1, le=500),
    principal: auth.Principal = Depends(auth.require(auth.READ, portal=True)),
    session: AsyncSession = Depends(unit_of_work),
) -> list[dict[str, Any]]:
    if not principal.may_read_client(client_id):
        raise HTTPException(403, detail="another client's data")
    if limit is not None:
        return await reading.client_documents(session, client_id, limit, 0)
    return await reading.client_documents(session, client_id, page_size, (page - 1) * page_size)


async def readable_document(session: AsyncSession, number: str, principal: auth.Principal) -> DocumentRow:
    row = await reading.get_document_row(session, number)
    if not principal.may_read_client(row.client_id):
        # Existence hiding: a portal user cannot tell another client's number exists.
        raise NotFound("document", number, "number")
    return row


@router.get("/invoices/{number}")
async def invoice_detail(
    number: str,
    principal: auth.Principal = Depends(auth.require(auth.READ, portal=True)),
    session: AsyncSession = Depends(unit_of_work),
) -> dict[str, Any]:
    return await reading.detail(session, await readable_document(session, number, principal))


@router.get("/invoices/{number}/consumption")
async def invoice_consumption(
    number: str,
    page: PageNumber = 1,
    page_size: int = Query(default=100, ge=1, le=1000),
    principal: auth.Principal = Depends(auth.require(auth.READ, portal=True)),
    session: AsyncSession = Depends(unit_of_work),
) -> dict[str, Any]:
    row = await readable_document(session, number, principal)
    return await reading.consumption_page(session, row.number or "", page, page_size)


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
    number: str,
    request: Request,
    principal: auth.Principal = Depends(auth.require(auth.READ, portal=True)),
) -> StreamingResponse:
    runtime = runtime_of(request)
    # Read-only sessions: a slow download holds no write lock (SQLite's BEGIN IMMEDIATE would
    # stop every invoicing write until the client has read the last row).
    async with runtime.read_sessions() as session:
        row = await readable_document(session, number, principal)

    async def rows() -> AsyncIterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CONSUMPTION_COLUMNS)
        async with runtime.read_sessions() as session:
            result = await session.stream_scalars(
                select(CallRecordRow)
                .where(CallRecordRow.invoice_number == row.number)
                .order_by(CallRecordRow.started_at, CallRecordRow.id)
            )
            async for call in result:
                out = reading.call_out(call)
                writer.writerow([_csv_cell(out[c], c) for c in CONSUMPTION_COLUMNS])
                if buffer.tell() > 64_000:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        rows(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{row.number}-consumption.csv"'},
    )


# -- actions --------------------------------------------------------------------------------------
@router.post("/invoices/{number}/send", status_code=202)
async def send_invoice(
    number: str,
    request: Request,
    principal: auth.Principal = Depends(auth.require(auth.WRITE)),
    session: AsyncSession = Depends(unit_of_work),
) -> dict[str, Any]:
    row = await reading.get_issued_row(session, number)
    return await request_send(session, request, row, principal)


async def request_send(
    session: AsyncSession, request: Request, row: DocumentRow, principal: auth.Principal
) -> dict[str, Any]:
    client = await session.get(ClientRow, row.client_id)
    assert client is not None
    buyer = await buyer_snapshot(session, client)
    request_id = str(uuid.uuid4())
    await runtime_of(request).emit(
        session,
        INVOICE_SEND_REQUESTED,
        row.number,
        SendRequested(
            request_id=request_id,
            requested_by=principal.email or principal.sub,
            number=row.number or "",
            recipients=buyer.recipients,
            language=client.language,
        ),
    )
    return {"request_id": request_id, "number": row.number, "recipients": [r.email for r in buyer.recipients]}


@router.post("/invoices/{number}/regenerate", status_code=202)
async def regenerate_invoice(
    number: str,
    request: Request,
    principal: auth.Principal = Depends(auth.require(auth.WRITE)),
    session: AsyncSession = Depends(unit_of_work),
) -> dict[str, Any]:
    """A new PDF version with the current branding and the client's current address."""
    row = await reading.get_issued_row(session, number)
    client = await session.get(ClientRow, row.client_id)
    assert client is not None
    document = Document.model_validate_json(row.body)
    current = document.model_copy(update={"buyer": await buyer_snapshot(session, client)})
    request_id = str(uuid.uuid4())
    await runtime_of(request).emit(
        session,
        INVOICE_RENDER_REQUESTED,
        row.number,
        RenderRequested(request_id=request_id, reason=f"regenerated by {principal.sub}", document=current),
    )
    return {"request_id": request_id, "number": row.number}
