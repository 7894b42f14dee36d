"""The read model of issued documents: kept up to date from events, read back page by page.

Every update is idempotent (an upsert keyed by the document number) and independent of arrival order:
a `document.rendered` seen before its issue event leaves a row with files only, an older rendered
version never replaces a newer one, and an invoice's status is recomputed from all the credit notes
seen for it whenever either side arrives.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_export.adapters.orm import IssuedDocumentRow
from ledgerline_export.domain.issued_document import IssuedDocument, IssuedStatus, IssuedType
from ledgerline_shared.contracts.document import Document
from ledgerline_shared.contracts.events import DocumentRendered

ZERO = Decimal("0.00")


def credit_status(invoice_gross: Decimal, credited: Decimal) -> IssuedStatus:
    """An invoice is credited once its credit notes cover its gross, partially before that."""
    if credited <= ZERO:
        return IssuedStatus.ISSUED
    if credited >= invoice_gross:
        return IssuedStatus.CREDITED
    return IssuedStatus.PARTIALLY_CREDITED


RowQuery = Select[IssuedDocumentRow]


def _locked(session: AsyncSession, query: RowQuery) -> RowQuery:
    # PostgreSQL: an invoice and its credit note may be handled at once by two consumers.
    dialect = session.bind.dialect.name if session.bind is not None else ""
    return query.with_for_update() if dialect == "postgresql" else query


async def _row(session: AsyncSession, number: str) -> IssuedDocumentRow | None:
    query = select(IssuedDocumentRow).where(IssuedDocumentRow.number == number)
    return (await session.scalars(_locked(session, query))).first()


async def record_issued(session: AsyncSession, document: Document) -> IssuedDocument:
    """Upsert the document (invoice.issued, creditnote.issued, proforma.created)."""
    issued = IssuedDocument.from_document(document)  # refuses previews and numberless documents
    row = await _row(session, issued.number)
    if row is None:
        row = IssuedDocumentRow(number=issued.number, version=0, status=IssuedStatus.ISSUED.value)
        session.add(row)
    row.type = issued.type.value
    row.client_id = issued.client_id
    row.client_code = issued.client_code
    row.client_name = issued.client_name
    row.issue_date = issued.issue_date
    row.month = issued.issue_date.strftime("%Y-%m")
    row.currency = issued.currency
    row.net = issued.net
    row.vat = issued.vat_total
    row.gross = issued.gross
    row.vat_rates = ",".join(format(v.rate, "f") for v in issued.vat)
    row.original_number = issued.original_number
    row.document = document.model_dump_json()
    row.received_at = dt.datetime.now(dt.UTC)
    await session.flush()
    if issued.type is IssuedType.INVOICE:
        await refresh_credit_status(session, issued.number)
    elif issued.original_number:
        await refresh_credit_status(session, issued.original_number)
    return issued


async def refresh_credit_status(session: AsyncSession, invoice_number: str) -> None:
    invoice = await _row(session, invoice_number)
    if invoice is None or invoice.document is None or invoice.type != IssuedType.INVOICE.value:
        return  # the invoice is not known yet: its own issue event will compute the status
    amounts = await session.scalars(
        select(IssuedDocumentRow.gross).where(
            IssuedDocumentRow.original_number == invoice_number,
            IssuedDocumentRow.type == IssuedType.CREDIT_NOTE.value,
            IssuedDocumentRow.document.is_not(None),
        )
    )
    credited = sum((Decimal(a) for a in amounts if a is not None), ZERO)
    invoice.status = credit_status(Decimal(invoice.gross or ZERO), credited).value


async def record_rendered(session: AsyncSession, event: DocumentRendered) -> bool:
    """Remember the latest files of a document; False when ignored (a preview, or an older version)."""
    if event.number is None:
        return False
    row = await _row(session, event.number)
    if row is None:
        row = IssuedDocumentRow(
            number=event.number,
            type=event.type.value,
            status=IssuedStatus.ISSUED.value,
            client_id=event.client_id,
            issue_date=event.issue_date,
            month=event.issue_date.strftime("%Y-%m"),
            version=0,
        )
        session.add(row)
    if event.version <= row.version:
        return False
    row.version = event.version
    row.pdf_path = event.files.pdf.path
    row.ubl_path = event.files.ubl.path if event.files.ubl is not None else None
    row.json_path = event.files.json_.path
    row.rendered_at = dt.datetime.now(dt.UTC)
    await session.flush()
    return True


# ---- reading back ----------------------------------------------------------------------------------

ACCOUNTING_TYPES = frozenset({IssuedType.INVOICE, IssuedType.CREDIT_NOTE})
ALL_TYPES = frozenset(IssuedType)


@dataclass(frozen=True)
class Selection:
    """Which documents an export covers: a month, or a range of issue dates (inclusive), and types."""

    types: Collection[IssuedType] = ALL_TYPES
    month: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def where(self) -> list[ColumnElement[bool]]:
        r = IssuedDocumentRow
        clauses: list[ColumnElement[bool]] = [
            r.document.is_not(None),
            r.type.in_(sorted(t.value for t in self.types)),
        ]
        if self.month is not None:
            clauses.append(r.month == self.month)
        if self.date_from is not None:
            clauses.append(r.issue_date >= self.date_from)
        if self.date_to is not None:
            clauses.append(r.issue_date <= self.date_to)
        return clauses


@dataclass(frozen=True)
class StoredDocument:
    """One row as read, parsed into an IssuedDocument by whoever consumes it (off the event loop)."""

    number: str
    issue_date: dt.date
    status: str
    pdf_path: str | None
    document_json: str

    def issued(self) -> IssuedDocument:
        return IssuedDocument.from_document(
            Document.model_validate_json(self.document_json),
            status=IssuedStatus(self.status),
            pdf_path=self.pdf_path,
        )


Cursor = tuple[dt.date, str]


async def documents_page(
    session: AsyncSession, selection: Selection, after: Cursor | None, limit: int
) -> list[StoredDocument]:
    """The next `limit` documents in (issue date, number) order after `after` (keyset paging)."""
    r = IssuedDocumentRow
    query = select(r.number, r.issue_date, r.status, r.pdf_path, r.document).where(*selection.where())
    if after is not None:
        day, number = after
        query = query.where(or_(r.issue_date > day, and_(r.issue_date == day, r.number > number)))
    query = query.order_by(r.issue_date, r.number).limit(limit)
    rows = (await session.execute(query)).all()
    return [StoredDocument(n, d, s, p, j or "") for n, d, s, p, j in rows]


async def count_documents(session: AsyncSession, selection: Selection) -> int:
    query = select(func.count()).select_from(IssuedDocumentRow).where(*selection.where())
    return int(await session.scalar(query) or 0)


async def vat_rates(session: AsyncSession, selection: Selection) -> list[Decimal]:
    """Every VAT rate of the selection (the Excel layout needs them before its header)."""
    r = IssuedDocumentRow
    found = await session.scalars(select(r.vat_rates).where(*selection.where()).distinct())
    rates: set[Decimal] = set()
    for text in found:
        rates.update(Decimal(t) for t in (text or "").split(",") if t)
    return sorted(rates, reverse=True)
