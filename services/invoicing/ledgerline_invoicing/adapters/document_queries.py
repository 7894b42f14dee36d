"""The read views of documents (read-only): the month's list, previews, a client's documents,
an invoice's links and deliveries, and the call records it billed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import asc, desc, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.orm import CallRecordRow, DeliveryRow, DocumentRow

_SORTS: dict[str, Any] = {
    "number": DocumentRow.number,
    "issue_date": DocumentRow.issue_date,
    "client": DocumentRow.client_name,
    "total": DocumentRow.gross_total,
}
SORT_KEYS = frozenset(_SORTS)  # a list sorts by one of these, "-" first for descending


def _sort_clause(sort: str) -> Any:
    column = _SORTS[sort.lstrip("-")]
    return desc(column) if sort.startswith("-") else asc(column)


class DocumentQueries:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def month_page(
        self,
        *,
        month: str,
        type_: str | None,
        status: str | None,
        q: str | None,
        sort: str,
        page: int,
        page_size: int,
        client_ids: frozenset[str] | None,
    ) -> tuple[int, Sequence[DocumentRow]]:
        """A page of the month's issued documents (no previews), and how many match in all."""
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
        session = self._session
        total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = await session.scalars(
            query.order_by(_sort_clause(sort), DocumentRow.number)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
        return total, rows.all()

    async def previews(self, period: str) -> Sequence[DocumentRow]:
        rows = await self._session.scalars(
            select(DocumentRow)
            .where(DocumentRow.type == "preview", DocumentRow.period == period)
            .order_by(DocumentRow.client_code)
        )
        return rows.all()

    async def of_client(self, client_id: str, limit: int, offset: int) -> Sequence[DocumentRow]:
        rows = await self._session.scalars(
            select(DocumentRow)
            .where(DocumentRow.client_id == client_id, DocumentRow.type != "preview")
            .order_by(desc(DocumentRow.issue_date), desc(DocumentRow.created_at))
            .limit(limit)
            .offset(offset)
        )
        return rows.all()

    async def linked_numbers(self, number: str) -> list[str]:
        """The documents referring to this one (an invoice's credit notes), by number."""
        rows = await self._session.scalars(
            select(DocumentRow.number)
            .where(DocumentRow.original_number == number)
            .order_by(DocumentRow.number)
        )
        return [n for n in rows.all() if n is not None]

    async def deliveries(self, number: str) -> Sequence[DeliveryRow]:
        rows = await self._session.scalars(
            select(DeliveryRow).where(DeliveryRow.number == number).order_by(DeliveryRow.at)
        )
        return rows.all()

    async def billed_calls_page(
        self, number: str, page: int, page_size: int
    ) -> tuple[int, Sequence[CallRecordRow]]:
        """A page of the call records an invoice billed, in time order, and how many in all."""
        query = select(CallRecordRow).where(CallRecordRow.invoice_number == number)
        session = self._session
        total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = await session.scalars(
            query.order_by(CallRecordRow.started_at, CallRecordRow.id)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
        return total, rows.all()

    async def stream_billed_calls(self, number: str) -> AsyncIterator[CallRecordRow]:
        """Every call record an invoice billed, streamed (millions may not fit in memory)."""
        result = await self._session.stream_scalars(
            select(CallRecordRow)
            .where(CallRecordRow.invoice_number == number)
            .order_by(CallRecordRow.started_at, CallRecordRow.id)
        )
        async for call in result:
            yield call
