"""The guide's read views: the month's list, pre-production, a client's invoices, an invoice's detail.

Read-only use cases: the entrypoints give them a read-only unit of work (no write lock is taken).
`may_read` says whether the caller may see a client's documents (a portal user only their own):
another client's document is answered as missing, so a number's existence is not revealed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from ledgerline_invoicing.adapters.document_queries import SORT_KEYS
from ledgerline_invoicing.adapters.orm import CallRecordRow, DocumentRow
from ledgerline_invoicing.service.commands import ListDocuments
from ledgerline_invoicing.service.errors import NotFound
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork

ClientFilter = Callable[[str], bool]


def _anyone(_client_id: str) -> bool:
    return True


def summary_out(d: DocumentRow) -> dict[str, Any]:
    return {
        "number": d.number,
        "id": d.id,
        "type": d.type,
        "status": d.status,
        "client_id": d.client_id,
        "client_code": d.client_code,
        "client_name": d.client_name,
        "period": d.period,
        "issue_date": d.issue_date.isoformat(),
        "due_date": d.due_date.isoformat() if d.due_date else None,
        "currency": d.currency,
        "net_total": f"{d.net_total:.2f}",
        "tax_total": f"{d.tax_total:.2f}",
        "gross_total": f"{d.gross_total:.2f}",
        "original_invoice": d.original_number,
        "generation_count": d.generation_count,
    }


async def month_list(uow: InvoicingUnitOfWork, query: ListDocuments) -> dict[str, Any]:
    if query.sort.lstrip("-") not in SORT_KEYS:
        raise NotFound("sort key", query.sort, "sort")
    async with uow:
        total, rows = await uow.queries.month_page(
            month=query.month,
            type_=query.type_,
            status=query.status,
            q=query.q,
            sort=query.sort,
            page=query.page,
            page_size=query.page_size,
            client_ids=query.client_ids,
        )
    return {
        "month": query.month,
        "total": total,
        "page": query.page,
        "page_size": query.page_size,
        "items": [summary_out(r) for r in rows],
    }


async def previews(uow: InvoicingUnitOfWork, period: str) -> list[dict[str, Any]]:
    async with uow:
        return [summary_out(r) for r in await uow.queries.previews(period)]


async def client_documents(
    uow: InvoicingUnitOfWork, client_id: str, limit: int, offset: int
) -> list[dict[str, Any]]:
    async with uow:
        return [summary_out(r) for r in await uow.queries.of_client(client_id, limit, offset)]


async def readable_document(
    uow: InvoicingUnitOfWork, number: str, may_read: ClientFilter = _anyone
) -> DocumentRow:
    """A document by number (a preview by id) in the open unit of work, if the caller may see it."""
    row = await uow.documents.get(number)
    if row is None or not may_read(row.client_id):
        raise NotFound("document", number, "number")
    return row


async def invoice_detail(
    uow: InvoicingUnitOfWork, number: str, may_read: ClientFilter = _anyone
) -> dict[str, Any]:
    async with uow:
        return await _detail(uow, await readable_document(uow, number, may_read))


async def detail_of(uow: InvoicingUnitOfWork, row: DocumentRow) -> dict[str, Any]:
    """The detail of a document just issued (the answer to a credit or a proforma)."""
    async with uow:
        return await _detail(uow, row)


async def _detail(uow: InvoicingUnitOfWork, row: DocumentRow) -> dict[str, Any]:
    body = json.loads(row.body)
    linked = await uow.queries.linked_numbers(row.number) if row.number else []
    deliveries = await uow.queries.deliveries(row.number) if row.number else []
    key = row.number or row.id
    return {
        **summary_out(row),
        "credited_total": f"{row.credited_total:.2f}",
        "lines": body["lines"],
        "tax_breakdown": body["tax_breakdown"],
        "totals": body["totals"],
        "seller": body["seller"],
        "buyer": body["buyer"],
        "references": body.get("references", []),
        "consumption_summary": body.get("consumption", []),
        "reason": row.reason,
        "requested_by": row.requested_by,
        "credit_notes": list(linked),
        "deliveries": [
            {
                "request_id": d.request_id,
                "status": d.status,
                "to": d.to.split(","),
                "at": d.at.isoformat(),
                "detail": d.detail,
            }
            for d in deliveries
        ],
        "links": {
            "pdf": f"/api/v1/documents/{key}/pdf",
            "ubl": f"/api/v1/documents/{key}/ubl",
            "json": f"/api/v1/documents/{key}/json",
            "consumption": f"/api/v1/invoices/{key}/consumption",
        },
    }


def call_out(c: CallRecordRow) -> dict[str, Any]:
    return {
        "cdr_id": c.cdr_id,
        # Stored in UTC (usage.ingest); SQLite gives it back without its offset.
        "started_at": (
            c.started_at.replace(tzinfo=dt.UTC) if c.started_at.tzinfo is None else c.started_at
        ).isoformat(),
        "kind": c.kind,
        "caller": c.caller,
        "callee": c.callee,
        "destination": c.destination,
        "duration_s": c.duration_s,
        "billable_s": c.billable_s,
        "units": None if c.units is None else str(c.units.normalize()),
        "cost": None if c.cost is None else f"{c.cost:.4f}",
    }


async def consumption_page(
    uow: InvoicingUnitOfWork, number: str, page: int, page_size: int, may_read: ClientFilter = _anyone
) -> dict[str, Any]:
    async with uow:
        row = await readable_document(uow, number, may_read)
        billed = row.number or ""
        total, rows = await uow.queries.billed_calls_page(billed, page, page_size)
    return {
        "number": billed,
        "total": total,
        "page": page,
        "page_size": page_size,
        "items": [call_out(r) for r in rows],
    }


async def consumption_source(uow: InvoicingUnitOfWork, number: str, may_read: ClientFilter = _anyone) -> str:
    """The number whose billed call records a download lists (checked first, in its own read).
    A preview has none and bills nothing: "" lists nothing, as its paged answer."""
    async with uow:
        return (await readable_document(uow, number, may_read)).number or ""


async def billed_calls(uow: InvoicingUnitOfWork, number: str) -> AsyncIterator[dict[str, Any]]:
    """The invoice's call records as answered, streamed in one read-only transaction."""
    async with uow:
        async for call in uow.queries.stream_billed_calls(number):
            yield call_out(call)
