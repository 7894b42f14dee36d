"""A streaming XlsxWriter worksheet for typed cells (constant_memory: rows must be written in order).

Text goes through `write_string` after neutralisation (never `write`, which would turn "=..." into a
formula); Decimal amounts become numbers with a two-decimal format — the float conversion happens here,
at the file boundary, because XLSX stores numbers as doubles; dates are real dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from types import TracebackType

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from ledgerline_export.domain.cells import Cell
from ledgerline_export.domain.spreadsheet_safety import neutralise

MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"


class StreamingSheet:
    def __init__(self, path: Path, sheet_name: str) -> None:
        self.workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        self.sheet = self.workbook.add_worksheet(sheet_name)
        self.money = self.workbook.add_format({"num_format": MONEY_FORMAT})
        self.date = self.workbook.add_format({"num_format": DATE_FORMAT})
        self.bold = self.workbook.add_format({"bold": True})
        self.money_bold = self.workbook.add_format({"num_format": MONEY_FORMAT, "bold": True})
        self.next_row = 0

    def __enter__(self) -> StreamingSheet:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.workbook.close()

    def header(self, names: Sequence[str], widths: Sequence[float] | None = None) -> None:
        for col, name in enumerate(names):
            self.sheet.write_string(self.next_row, col, neutralise(name), self.bold)
            if widths:
                self.sheet.set_column(col, col, widths[col])
        self.sheet.freeze_panes(1, 0)
        self.next_row += 1

    def row(self, cells: Sequence[Cell]) -> None:
        r = self.next_row
        sheet = self.sheet
        for col, value in enumerate(cells):
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(r, col, neutralise(value))
            elif isinstance(value, Decimal):
                sheet.write_number(r, col, float(value), self.money)
            elif isinstance(value, dt.date):
                sheet.write_datetime(r, col, value, self.date)
            else:
                sheet.write_number(r, col, value)
        self.next_row += 1

    def totals(self, label: str, first_data_row: int, sums: dict[int, Decimal]) -> None:
        """A totals row: SUM formulas, with the exact Decimal totals as their cached values."""
        r = self.next_row
        self.sheet.write_string(r, 0, label, self.bold)
        for col, total in sums.items():
            if r == first_data_row:  # no data row: a SUM would refer to its own cell
                self.sheet.write_number(r, col, float(total), self.money_bold)
                continue
            top = xl_rowcol_to_cell(first_data_row, col)
            bottom = xl_rowcol_to_cell(r - 1, col)
            self.sheet.write_formula(r, col, f"=SUM({top}:{bottom})", self.money_bold, float(total))
        self.next_row += 1
