"""The read model of issued documents: the only place that knows the `issued_documents` table.

Every write is an upsert keyed by the document number, whatever the order events arrive in: a
`document.rendered` seen before its issue event leaves a row with files only (`document` NULL), which
every read skips.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_export.adapters.orm import IssuedDocumentRow
from ledgerline_export.domain.document_selection import Cursor, Selection, StoredDocument
from ledgerline_export.domain.invoice_status import ZERO, CreditNoteSeen, CreditState
from ledgerline_export.domain.issued_document import IssuedDocument, IssuedType, is_newer_rendering
from ledgerline_shared.contracts.document import Document, InvoiceStatus
from ledgerline_shared.contracts.events import DocumentRendered

RowQuery = Select[IssuedDocumentRow]
_INVOICE_LOCKS = 0x1C0  # the advisory lock space of "an invoice and its credit notes"


@dataclass(frozen=True)
class KnownInvoice:
    """An invoice whose issue event arrived, locked for its status to be set."""

    number: str
    gross: Decimal
    credit_state: CreditState


def _where(selection: Selection) -> list[ColumnElement[bool]]:
    r = IssuedDocumentRow
    clauses: list[ColumnElement[bool]] = [
        r.document.is_not(None),
        r.type.in_(sorted(t.value for t in selection.types)),
    ]
    if selection.month is not None:
        clauses.append(r.month == selection.month)
    if selection.date_from is not None:
        clauses.append(r.issue_date >= selection.date_from)
    if selection.date_to is not None:
        clauses.append(r.issue_date <= selection.date_to)
    return clauses


class IssuedDocumentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # ---- kept up to date from events -------------------------------------------------------------

    def _on_postgresql(self) -> bool:
        bind = self._session.bind
        return bind is not None and bind.dialect.name == "postgresql"

    def _locked(self, query: RowQuery) -> RowQuery:
        # PostgreSQL: two credit notes of one invoice may be handled at once by two consumers.
        return query.with_for_update() if self._on_postgresql() else query

    async def take_turn_on_invoice(self, invoice_number: str) -> None:
        """Until this transaction ends, whoever else handles this invoice or one of its credit notes
        waits (PostgreSQL). Without it an invoice and its note handled at once by two consumers each
        miss the other, neither row being visible to the other transaction, and the note's status
        is lost. A row lock cannot do it: the invoice's row may not exist yet. SQLite has one writer."""
        if self._on_postgresql():
            key = func.hashtext(invoice_number)
            await self._session.execute(select(func.pg_advisory_xact_lock(_INVOICE_LOCKS, key)))

    async def _row(self, number: str) -> IssuedDocumentRow | None:
        query = select(IssuedDocumentRow).where(IssuedDocumentRow.number == number)
        return (await self._session.scalars(self._locked(query))).first()

    async def record_issued(self, issued: IssuedDocument, document: Document) -> None:
        """Upsert the document as issued; an invoice's status and rendered files are left as they are."""
        row = await self._row(issued.number)
        if row is None:
            row = IssuedDocumentRow(number=issued.number, version=0, status=InvoiceStatus.ISSUED.value)
            self._session.add(row)
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
        if issued.type is IssuedType.CREDIT_NOTE:
            status = document.credited_invoice_status
            row.credited_invoice_status = status.value if status is not None else None
            row.credited_invoice_total = document.credited_invoice_total
        row.document = document.model_dump_json()
        row.received_at = dt.datetime.now(dt.UTC)
        await self._session.flush()

    async def lock_invoice(self, number: str) -> KnownInvoice | None:
        """The invoice, locked; None while its issue event has not arrived (its notes wait for it)."""
        row = await self._row(number)
        if row is None or row.document is None or row.type != IssuedType.INVOICE.value:
            return None
        state = CreditState(InvoiceStatus(row.status), Decimal(row.status_credited_total or ZERO))
        return KnownInvoice(row.number, Decimal(row.gross or ZERO), state)

    async def set_credit_state(self, number: str, state: CreditState) -> None:
        row = await self._row(number)
        if row is not None:
            row.status = state.status.value
            row.status_credited_total = state.credited_total
            await self._session.flush()

    async def credit_notes_of(self, invoice_number: str) -> list[CreditNoteSeen]:
        """Every credit note seen for the invoice: its gross and the status it carried, if any."""
        r = IssuedDocumentRow
        rows = await self._session.execute(
            select(r.gross, r.credited_invoice_status, r.credited_invoice_total).where(
                r.original_number == invoice_number,
                r.type == IssuedType.CREDIT_NOTE.value,
                r.document.is_not(None),
            )
        )
        return [
            CreditNoteSeen(
                Decimal(gross or ZERO),
                InvoiceStatus(status) if status is not None else None,
                Decimal(total) if total is not None else None,
            )
            for gross, status, total in rows
        ]

    async def record_rendered(self, event: DocumentRendered) -> bool:
        """Remember the latest files of a document; False when ignored (a preview, or an older version)."""
        if event.number is None:
            return False
        row = await self._row(event.number)
        if row is None:
            row = IssuedDocumentRow(
                number=event.number,
                type=event.type.value,
                status=InvoiceStatus.ISSUED.value,
                client_id=event.client_id,
                issue_date=event.issue_date,
                month=event.issue_date.strftime("%Y-%m"),
                version=0,
            )
            self._session.add(row)
        if not is_newer_rendering(row.version or 0, event.version):
            return False
        row.version = event.version
        row.pdf_path = event.files.pdf.path
        row.ubl_path = event.files.ubl.path if event.files.ubl is not None else None
        row.json_path = event.files.json_.path
        row.rendered_at = dt.datetime.now(dt.UTC)
        await self._session.flush()
        return True

    # ---- read back by the exports ----------------------------------------------------------------

    async def page(self, selection: Selection, after: Cursor | None, limit: int) -> list[StoredDocument]:
        """The next `limit` documents in (issue date, number) order after `after` (keyset paging)."""
        r = IssuedDocumentRow
        query = select(r.number, r.issue_date, r.status, r.pdf_path, r.document).where(*_where(selection))
        if after is not None:
            day, number = after
            query = query.where(or_(r.issue_date > day, and_(r.issue_date == day, r.number > number)))
        query = query.order_by(r.issue_date, r.number).limit(limit)
        rows = (await self._session.execute(query)).all()
        return [StoredDocument(n, d, s, p, j or "") for n, d, s, p, j in rows]

    async def count(self, selection: Selection) -> int:
        query = select(func.count()).select_from(IssuedDocumentRow).where(*_where(selection))
        return int(await self._session.scalar(query) or 0)

    async def vat_rates(self, selection: Selection) -> list[Decimal]:
        """Every VAT rate of the selection (the Excel layout needs them before its header)."""
        r = IssuedDocumentRow
        found = await self._session.scalars(select(r.vat_rates).where(*_where(selection)).distinct())
        rates: set[Decimal] = set()
        for text in found:
            rates.update(Decimal(t) for t in (text or "").split(",") if t)
        return sorted(rates, reverse=True)

    async def count_by_month_and_type(self, months: int = 36) -> list[tuple[str, str, int]]:
        """The dashboard's table: documents per month and type, latest months first."""
        r = IssuedDocumentRow
        rows = await self._session.execute(
            select(r.month, r.type, func.count())
            .where(r.document.is_not(None))
            .group_by(r.month, r.type)
            .order_by(r.month.desc())
            .limit(months)
        )
        return [(month, kind, int(n)) for month, kind, n in rows]
