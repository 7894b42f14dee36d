"""Documents as stored: invoices, credit notes, proformas and previews, each with its event body."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.orm import ClientRow, DeliveryRow, DocumentRow
from ledgerline_shared.contracts.document import Document, DocumentType


def row_values(
    document: Document, client: ClientRow, run_id: str | None, body: str | None = None
) -> dict[str, Any]:
    """The documents row of an issued (or previewed) document: one mapping for every way of issuing.
    `body`: the document's JSON when the caller has it already (it is also the event's payload)."""
    return {
        "id": str(document.id),
        "number": document.number,
        "type": document.type.value,
        "status": "preview" if document.type is DocumentType.PREVIEW else "issued",
        "client_id": client.id,
        "client_code": client.code,
        "client_name": client.name,
        "period": document.period,
        "issue_date": document.issue_date,
        "month": document.issue_date.strftime("%Y-%m"),
        "due_date": document.due_date,
        "currency": document.currency,
        "net_total": document.totals.net_total,
        "tax_total": document.totals.tax_total,
        "gross_total": document.totals.gross_total,
        "original_number": document.references[0].number if document.references else None,
        "run_id": run_id,
        # The same serialisation as the event's payload (issuing passes that text when it has it).
        "body": body if body is not None else document.model_dump_json(by_alias=True),
        "reason": document.reason,
        "requested_by": document.requested_by,
    }


class DocumentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # -- reading -------------------------------------------------------------------------------
    async def lock(self, number: str) -> DocumentRow | None:
        """The document to credit, its row locked until commit (PostgreSQL: SELECT ... FOR UPDATE;
        SQLite: BEGIN IMMEDIATE already serialises writers and FOR UPDATE is left out). Always
        taken before the number sequence, so two credit paths never wait on each other crosswise."""
        row = await self._session.scalar(
            select(DocumentRow)
            .where(DocumentRow.number == number)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if row is None:
            # A preview has no number; it is addressed by its id and refused by the domain rule.
            row = await self._session.scalar(
                select(DocumentRow).where(DocumentRow.id == number, DocumentRow.number.is_(None))
            )
        return row

    async def credit_notes_of(self, number: str) -> list[Document]:
        """The credit notes issued against an invoice so far, by number."""
        bodies = await self._session.scalars(
            select(DocumentRow.body)
            .where(
                DocumentRow.original_number == number,
                DocumentRow.type == DocumentType.CREDIT_NOTE.value,
            )
            .order_by(DocumentRow.number)
        )
        return [Document.model_validate_json(body) for body in bodies.all()]

    async def get(self, number: str) -> DocumentRow | None:
        """A document by its number, or a preview by its id."""
        row = await self._session.scalar(select(DocumentRow).where(DocumentRow.number == number))
        if row is None:
            row = await self._session.scalar(select(DocumentRow).where(DocumentRow.id == number))
        return row

    async def proforma(self, number: str) -> DocumentRow | None:
        return await self._session.scalar(
            select(DocumentRow).where(
                DocumentRow.number == number, DocumentRow.type == DocumentType.PROFORMA.value
            )
        )

    async def invoice_of_period(self, client_id: str, period: str) -> str | None:
        """The number of the invoice already issued to the client for the period, if any."""
        return await self._session.scalar(
            select(DocumentRow.number).where(
                DocumentRow.client_id == client_id,
                DocumentRow.period == period,
                DocumentRow.type == "invoice",
            )
        )

    # -- writing -------------------------------------------------------------------------------
    async def add(self, document: Document, client: ClientRow, run_id: str | None = None) -> DocumentRow:
        row = DocumentRow(**row_values(document, client, run_id))
        self._session.add(row)
        await self._session.flush()
        return row

    async def add_all(
        self, batch: Sequence[tuple[ClientRow, Document]], run_id: str | None, bodies: Sequence[str]
    ) -> None:
        """A billing chunk's documents in one multi-row INSERT (`bodies`: each document's JSON)."""
        await self._session.execute(
            insert(DocumentRow),
            [
                row_values(document, client, run_id, body)
                for (client, document), body in zip(batch, bodies, strict=True)
            ],
        )

    async def replace_previews(self, client_ids: Sequence[str], period: str) -> None:
        """Re-running a preview replaces the clients' previews of the period: the old ones go."""
        await self._session.execute(
            delete(DocumentRow).where(
                DocumentRow.client_id.in_(client_ids),
                DocumentRow.period == period,
                DocumentRow.type == "preview",
            )
        )

    async def mark_credited(self, invoice: DocumentRow, credited_total: Decimal, status: str) -> None:
        invoice.credited_total = credited_total
        invoice.status = status
        await self._session.flush()

    async def record_generation(self, key: str, by_number: bool, generation_count: int) -> None:
        """Rendering made version `generation_count` of a document; versions only go up."""
        column = DocumentRow.number if by_number else DocumentRow.id
        await self._session.execute(
            update(DocumentRow)
            .where(column == key, DocumentRow.generation_count < generation_count)
            .values(generation_count=generation_count)
        )

    async def record_delivery(
        self, *, number: str, request_id: str, status: str, to: str, at: dt.datetime, detail: str | None
    ) -> None:
        """An e-mail's outcome, once per (number, request, status): a redelivered event adds nothing."""
        exists = await self._session.scalar(
            select(DeliveryRow.id).where(
                DeliveryRow.number == number,
                DeliveryRow.request_id == request_id,
                DeliveryRow.status == status,
            )
        )
        if exists is None:
            self._session.add(
                DeliveryRow(number=number, request_id=request_id, status=status, to=to, at=at, detail=detail)
            )


class ProcessedRequests:
    """The request_ids of creditnote.requested already applied, kept in processed_events under
    their own consumer name, in the credit note's own transaction."""

    def __init__(self, session: AsyncSession, processed: Table) -> None:
        self._session = session
        self._processed = processed

    async def seen(self, consumer: str, request_id: str) -> bool:
        processed = self._processed
        found = await self._session.scalar(
            select(processed.c.ce_id).where(processed.c.consumer == consumer, processed.c.ce_id == request_id)
        )
        return found is not None

    async def remember(self, consumer: str, request_id: str, topic: str) -> None:
        await self._session.execute(
            insert(self._processed).values(
                consumer=consumer, ce_id=request_id, topic=topic, processed_at=dt.datetime.now(dt.UTC)
            )
        )
