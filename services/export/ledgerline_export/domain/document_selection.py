"""Which issued documents an export reads, and how they come back from the read model, page by page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from ledgerline_export.domain.export_job import ExportJob
from ledgerline_export.domain.issued_document import IssuedDocument, IssuedType
from ledgerline_shared.contracts.document import Document, InvoiceStatus

ACCOUNTING_TYPES = frozenset({IssuedType.INVOICE, IssuedType.CREDIT_NOTE})
ALL_TYPES = frozenset(IssuedType)


@dataclass(frozen=True)
class Selection:
    """Which documents an export covers: a month, or a range of issue dates (inclusive), and types.

    Only documents whose issue event arrived count (a rendering seen first is not a document yet)."""

    types: Collection[IssuedType] = ALL_TYPES
    month: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def selection_of(job: ExportJob) -> Selection:
    """Excel covers sales (invoices and credit notes): its totals are the period's revenue. The grouped
    PDF is every document of the range; accounting reads proformas too, only to count them as
    excluded in its report."""
    types = ALL_TYPES if job.kind in ("grouped_pdf", "accounting") else ACCOUNTING_TYPES
    return Selection(types=types, date_from=job.date_from, date_to=job.date_to)


# Keyset paging: the (issue date, number) of the last document handed out.
Cursor = tuple[dt.date, str]


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
            status=InvoiceStatus(self.status),
            pdf_path=self.pdf_path,
        )
