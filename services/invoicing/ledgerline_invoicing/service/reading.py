"""The guide's read views: the month's list, pre-production, a client's invoices, an invoice's detail."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import asc, desc, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.orm import CallRecordRow, DeliveryRow, DocumentRow
from ledgerline_invoicing.domain.errors import DomainError
from ledgerline_invoicing.service.errors import NotFound

SORTS = {
    "number": DocumentRow.number,
    "issue_date": DocumentRow.issue_date,
    "client": DocumentRow.client_name,
    "total": DocumentRow.gross_total,
}


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


def sort_clause(sort: str) -> Any:
    descending = sort.startswith("-")
    column = SORTS.get(sort.lstrip("-"))
    if column is None:
        raise NotFound("sort key", sort, "sort")
    return desc(column) if descending else asc(column)


async def month_list(
    session: AsyncSession,
    *,
    month: str,
    type_: str | None,
    status: str | None,
    q: str | None,
    sort: str,
    page: int,
    page_size: int,
    client_ids: frozenset[str] | None = None,
) -> dict[str, Any]:
    query = select(DocumentRow).where(DocumentRow.month == month, DocumentRow.type != "preview")
    if type_:
        query = query.where(DocumentRow.type == type_)
    if status:
        query = query.where(DocumentRow.status == status)
    if client_ids is not None:
        query = query.where(DocumentRow.client_id.in_(client_ids))
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            or_(
                func.lower(DocumentRow.number).like(like),
                func.lower(DocumentRow.client_name).like(like),
                func.lower(DocumentRow.client_code).like(like),
            )
        )
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = (
        await session.scalars(
            query.order_by(sort_clause(sort), DocumentRow.number)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
    ).all()
    return {
        "month": month,
        "total": total,
        "page": page,
        "page_size": page_size,
        "items": [summary_out(r) for r in rows],
    }


async def previews(session: AsyncSession, period: str) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(DocumentRow)
        .where(DocumentRow.type == "preview", DocumentRow.period == period)
        .order_by(DocumentRow.client_code)
    )
    return [summary_out(r) for r in rows.all()]


async def client_documents(
    session: AsyncSession, client_id: str, limit: int, offset: int
) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(DocumentRow)
        .where(DocumentRow.client_id == client_id, DocumentRow.type != "preview")
        .order_by(desc(DocumentRow.issue_date), desc(DocumentRow.created_at))
        .limit(limit)
        .offset(offset)
    )
    return [summary_out(r) for r in rows.all()]


async def get_document_row(session: AsyncSession, number: str) -> DocumentRow:
    row = await session.scalar(select(DocumentRow).where(DocumentRow.number == number))
    if row is None:
        # A preview is addressed by its id; it is not a document one can act on.
        row = await session.scalar(select(DocumentRow).where(DocumentRow.id == number))
    if row is None:
        raise NotFound("document", number, "number")
    return row


async def get_issued_row(session: AsyncSession, number: str) -> DocumentRow:
    """A document one may act on (send, regenerate): issued, so numbered; a preview is refused."""
    row = await get_document_row(session, number)
    if row.number is None:
        raise DomainError("number", "a preview is not an issued document")
    return row


async def detail(session: AsyncSession, row: DocumentRow) -> dict[str, Any]:
    body = json.loads(row.body)
    linked = (
        (
            await session.scalars(
                select(DocumentRow.number)
                .where(DocumentRow.original_number == row.number)
                .order_by(DocumentRow.number)
            )
        ).all()
        if row.number
        else []
    )
    deliveries = (
        (
            await session.scalars(
                select(DeliveryRow).where(DeliveryRow.number == row.number).order_by(DeliveryRow.at)
            )
        ).all()
        if row.number
        else []
    )
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


async def consumption_page(session: AsyncSession, number: str, page: int, page_size: int) -> dict[str, Any]:
    query = select(CallRecordRow).where(CallRecordRow.invoice_number == number)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = (
        await session.scalars(
            query.order_by(CallRecordRow.started_at, CallRecordRow.id)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
    ).all()
    return {
        "number": number,
        "total": total,
        "page": page,
        "page_size": page_size,
        "items": [call_out(r) for r in rows],
    }
