"""The month's invoice list (spec 8: `invoice-list?month=`), with the list view's columns.

Amounts are signed (a credit note shows negative), so the column totals are the month's net revenue;
proformas are listed like the list view shows them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ledgerline_export.domain.cells import Cell
from ledgerline_export.domain.issued_document import IssuedDocument

INVOICE_LIST_COLUMNS: tuple[str, ...] = (
    "number",
    "type",
    "issue_date",
    "due_date",
    "client_code",
    "client_name",
    "net",
    "vat",
    "gross",
    "currency",
    "status",
)
# Which columns hold amounts (written as numbers with two decimals in XLSX).
INVOICE_LIST_AMOUNT_COLUMNS = frozenset({"net", "vat", "gross"})


def invoice_list_row(doc: IssuedDocument) -> list[Cell]:
    return [
        doc.number,
        doc.type.value,
        doc.issue_date,
        doc.due_date,
        doc.client_code,
        doc.client_name,
        doc.signed_net,
        doc.signed_vat_total,
        doc.signed_gross,
        doc.currency,
        doc.status.value,
    ]


def invoice_list_rows(documents: Iterable[IssuedDocument]) -> Iterator[list[Cell]]:
    for doc in documents:
        yield invoice_list_row(doc)
