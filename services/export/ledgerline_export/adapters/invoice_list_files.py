"""The month's invoice list written as CSV or XLSX, streamed document by document."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from ledgerline_export.adapters.xlsx_sheet import StreamingSheet
from ledgerline_export.domain.cells import plain_text
from ledgerline_export.domain.invoice_list import INVOICE_LIST_COLUMNS, invoice_list_rows
from ledgerline_export.domain.issued_document import IssuedDocument

# UTF-8 with a BOM so that Excel, the usual reader of this list, decodes accents; comma separated, dot
# decimals (machine-readable; the XLSX is the one for people).
CSV_ENCODING = "utf-8-sig"
WIDTHS = (16, 12, 12, 12, 14, 32, 12, 12, 12, 9, 18)


def write_invoice_list_csv(path: Path, documents: Iterable[IssuedDocument]) -> int:
    """Writes the list; returns the number of document rows."""
    rows = 0
    with path.open("w", encoding=CSV_ENCODING, newline="") as out:
        writer = csv.writer(out)
        writer.writerow(INVOICE_LIST_COLUMNS)
        for row in invoice_list_rows(documents):
            writer.writerow([plain_text(cell) for cell in row])
            rows += 1
    return rows


def write_invoice_list_xlsx(path: Path, documents: Iterable[IssuedDocument], month: str = "") -> int:
    rows = 0
    with StreamingSheet(path, f"Invoices {month}".strip()) as sheet:
        sheet.header(INVOICE_LIST_COLUMNS, WIDTHS)
        for row in invoice_list_rows(documents):
            sheet.row(row)
            rows += 1
    return rows
