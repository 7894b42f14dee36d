from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from ledgerline_export.adapters.excel_export_file import write_excel_export
from ledgerline_export.domain.excel_export import ExcelLayout, UnknownVatRate, rates_present
from ledgerline_export.domain.issued_document import IssuedDocument
from ledgerline_shared.contracts.document import Document, DocumentType


def _cents(value: object) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_excel_export_has_a_column_per_rate_and_exact_totals(
    tmp_path: Path, month_docs: list[Document], month: list[IssuedDocument]
) -> None:
    path = tmp_path / "range.xlsx"
    layout = ExcelLayout.for_rates(rates_present(month))
    result = write_excel_export(path, month, layout)
    assert result.rows == len(month)

    ws = openpyxl.load_workbook(path, data_only=True).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    assert header[:6] == ("Number", "Type", "Issue date", "Due date", "Client code", "Client")
    assert [h for h in header if str(h).endswith("%")] == ["VAT 20%", "VAT 10%", "VAT 5.5%", "VAT 2.1%"]
    assert header[-1] == "Original invoice"
    data, totals = rows[1:-1], rows[-1]
    assert [r[0] for r in data] == [d.number for d in month_docs]
    assert totals[0] == "Total"
    col = {name: i for i, name in enumerate(header)}

    # Expected totals straight from the shared documents (credit notes count negative).
    def signed(d: Document, amount: Decimal) -> Decimal:
        return -amount if d.type is DocumentType.CREDIT_NOTE else amount

    assert _cents(totals[col["Net"]]) == sum(signed(d, d.totals.net_total) for d in month_docs)
    assert _cents(totals[col["Gross"]]) == sum(signed(d, d.totals.gross_total) for d in month_docs)
    assert _cents(totals[col["VAT total"]]) == sum(signed(d, d.totals.tax_total) for d in month_docs)
    vat20 = sum(signed(d, t.tax_amount) for d in month_docs for t in d.tax_breakdown if t.vat_rate == 20)
    assert _cents(totals[col["VAT 20%"]]) == vat20
    # The totals row also sums what is shown.
    assert _cents(totals[col["Gross"]]) == sum(_cents(r[col["Gross"]]) for r in data)
    assert result.totals["Gross"] == sum(signed(d, d.totals.gross_total) for d in month_docs)

    credit = next(r for r in data if r[0] == "AV2026-000001")
    assert credit[col["Original invoice"]] == "F2026-000001"
    assert _cents(credit[col["Gross"]]) == Decimal("-23.99")
    assert credit[col["Issue date"]] == dt.datetime(2026, 1, 25)

    formulas = openpyxl.load_workbook(path).active
    assert formulas is not None
    gross_cell = formulas.cell(row=len(rows), column=col["Gross"] + 1)
    assert str(gross_cell.value).startswith("=SUM(")
    assert gross_cell.number_format == "#,##0.00"


def test_excel_client_name_formula_is_neutralised(tmp_path: Path, month: list[IssuedDocument]) -> None:
    path = tmp_path / "x.xlsx"
    write_excel_export(path, month, ExcelLayout.for_rates(rates_present(month)))
    ws = openpyxl.load_workbook(path).active
    assert ws is not None
    names = [ws.cell(row=r, column=6) for r in range(2, len(month) + 2)]
    hostile = next(c for c in names if "HYPERLINK" in str(c.value))
    assert hostile.value == '\'=HYPERLINK("http://x")' and hostile.data_type == "s"


def test_a_rate_missing_from_the_layout_is_refused(tmp_path: Path, month: list[IssuedDocument]) -> None:
    with pytest.raises(UnknownVatRate):
        write_excel_export(tmp_path / "bad.xlsx", month, ExcelLayout.for_rates([Decimal("20")]))


def test_a_failure_midway_leaves_no_workbook_and_an_empty_range_no_circular_total(tmp_path) -> None:
    import openpyxl

    from ledgerline_export.adapters.excel_export_file import write_excel_export
    from ledgerline_export.domain.excel_export import ExcelLayout

    def failing_feed():
        raise OSError("the read model went away")
        yield  # pragma: no cover - makes this a generator

    target = tmp_path / "broken.xlsx"
    with pytest.raises(OSError):
        write_excel_export(target, failing_feed(), ExcelLayout.for_rates([]))
    assert list(tmp_path.iterdir()) == []  # neither the workbook nor its temporary file

    empty = write_excel_export(tmp_path / "empty.xlsx", [], ExcelLayout.for_rates([]))
    sheet = openpyxl.load_workbook(empty.path).active
    totals = [c.value for c in sheet[2]]
    assert totals[0] == "Total" and not any(isinstance(v, str) and v.startswith("=") for v in totals)
