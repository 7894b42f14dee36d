"""The grouped PDF (user guide "Bulk PDF download"): every document of a range, in number order, one
bookmark per document, merged from the stored PDFs (never re-rendered).

Number order: by series prefix, then year, then sequence (F2026-000002 before F2026-000010 even if a
prefix is configured without zero padding). Documents without a stored PDF yet are left out and
listed in the result, never silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ledgerline_export.domain.issued_document import IssuedDocument, IssuedType

_NUMBER = re.compile(r"^(?P<prefix>\D*)(?P<year>\d{4})-?(?P<seq>\d+)$")
TYPE_LABEL = {
    IssuedType.INVOICE: "Invoice",
    IssuedType.CREDIT_NOTE: "Credit note",
    IssuedType.PROFORMA: "Proforma",
}


def number_order_key(number: str) -> tuple[str, int, int, str]:
    match = _NUMBER.match(number)
    if not match:
        return (number, 0, 0, number)
    return (match["prefix"], int(match["year"]), int(match["seq"]), number)


def bookmark_title(doc: IssuedDocument) -> str:
    """Shown in the PDF viewer's outline; plain text (a PDF string, never markup)."""
    return f"{doc.number} – {TYPE_LABEL[doc.type]} – {doc.client_name} – {doc.issue_date.isoformat()}"


@dataclass(frozen=True, slots=True)
class GroupedPdfPart:
    number: str
    title: str
    pdf_path: str


@dataclass(frozen=True)
class GroupedPdfPlan:
    parts: tuple[GroupedPdfPart, ...]
    missing: tuple[str, ...]  # numbers without a stored PDF


def plan_grouped_pdf(documents: Iterable[IssuedDocument]) -> GroupedPdfPlan:
    """Orders the documents (only small records are held, never PDF bytes)."""
    parts: list[GroupedPdfPart] = []
    missing: list[str] = []
    for doc in documents:
        if doc.pdf_path:
            parts.append(GroupedPdfPart(doc.number, bookmark_title(doc), doc.pdf_path))
        else:
            missing.append(doc.number)
    parts.sort(key=lambda p: number_order_key(p.number))
    missing.sort(key=number_order_key)
    return GroupedPdfPlan(tuple(parts), tuple(missing))
