"""The date-range Excel export written with XlsxWriter in constant_memory mode, with a totals row."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ledgerline_export.adapters.atomic_file import atomic_target
from ledgerline_export.adapters.xlsx_sheet import StreamingSheet
from ledgerline_export.domain.excel_export import ColumnTotals, ExcelLayout
from ledgerline_export.domain.issued_document import IssuedDocument

TOTALS_LABEL = "Total"


@dataclass(frozen=True)
class ExcelExportResult:
    path: Path
    rows: int
    totals: dict[str, Decimal]  # column name -> sum


def write_excel_export(
    path: Path, documents: Iterable[IssuedDocument], layout: ExcelLayout, sheet_name: str = "Invoices"
) -> ExcelExportResult:
    header = layout.header
    amount_cols = layout.amount_columns
    totals = ColumnTotals(width=len(amount_cols))
    widths = [16, 12, 12, 12, 14, 32] + [13] * len(amount_cols) + [9, 18, 16]
    # A failure mid-way (the read model, the disk) must not leave a half workbook behind.
    with atomic_target(path) as tmp, StreamingSheet(tmp, sheet_name) as sheet:
        sheet.header(header, widths)
        for doc in documents:
            row = layout.row(doc)
            sheet.row(row)
            totals.add(row[amount_cols.start : amount_cols.stop])
        sums = {col: totals.sums[i] for i, col in enumerate(amount_cols)}
        sheet.totals(TOTALS_LABEL, 1, sums)
    return ExcelExportResult(path, totals.rows, {header[col]: value for col, value in sums.items()})
