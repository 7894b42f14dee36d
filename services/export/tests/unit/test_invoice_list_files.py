from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import openpyxl

from ledgerline_export.adapters.invoice_list_files import write_invoice_list_csv, write_invoice_list_xlsx
from ledgerline_export.domain.invoice_list import INVOICE_LIST_COLUMNS
from ledgerline_export.domain.issued_document import IssuedDocument
from ledgerline_shared.contracts.document import Document


def test_csv_list_reads_back(tmp_path: Path, month: list[IssuedDocument]) -> None:
    path = tmp_path / "list.csv"
    assert write_invoice_list_csv(path, month) == len(month)
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == INVOICE_LIST_COLUMNS
    by_number = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert set(by_number) == {d.number for d in month}
    inv = by_number["F2026-000002"]
    assert inv["client_name"] == "Hôtel du Lac" and inv["issue_date"] == "2026-01-15"
    assert Decimal(inv["net"]) + Decimal(inv["vat"]) == Decimal(inv["gross"]) == Decimal("202.15")
    credit = by_number["AV2026-000001"]
    assert credit["type"] == "credit_note" and Decimal(credit["gross"]) == Decimal("-23.99")
    assert sum(Decimal(r["gross"]) for r in by_number.values()) == sum(d.signed_gross for d in month)


def test_xlsx_list_reads_back_with_numbers_and_dates(tmp_path: Path, month: list[IssuedDocument]) -> None:
    path = tmp_path / "list.xlsx"
    write_invoice_list_xlsx(path, month, "2026-01")
    ws = openpyxl.load_workbook(path).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == INVOICE_LIST_COLUMNS
    first = dict(zip(INVOICE_LIST_COLUMNS, rows[1], strict=True))
    assert first["number"] == "F2026-000001"
    assert first["issue_date"] == dt.datetime(2026, 1, 31)
    assert isinstance(first["gross"], float) and round(Decimal(str(first["gross"])), 2) == Decimal("86.78")
    assert ws.cell(row=2, column=9).number_format == "#,##0.00"


def test_dangerous_client_names_are_neutralised_in_csv_and_xlsx(
    tmp_path: Path, make_doc: Callable[..., Document], dangerous_names: list[str]
) -> None:
    docs = [
        IssuedDocument.from_document(make_doc(f"F2026-{i:06d}", client_name=name, client_code=name))
        for i, name in enumerate(dangerous_names, start=1)
    ]
    csv_path, xlsx_path = tmp_path / "l.csv", tmp_path / "l.xlsx"
    write_invoice_list_csv(csv_path, docs)
    write_invoice_list_xlsx(xlsx_path, docs)
    with csv_path.open(encoding="utf-8-sig", newline="") as f:
        csv_rows = list(csv.reader(f))[1:]
    ws = openpyxl.load_workbook(xlsx_path).active
    assert ws is not None
    xlsx_rows = list(ws.iter_rows(min_row=2, values_only=True))
    for index, (name, crow, xrow) in enumerate(zip(dangerous_names, csv_rows, xlsx_rows, strict=True)):
        assert crow[4] == crow[5] == "'" + name  # client code and name
        # XLSX escapes a CR as "_x000D_" (ECMA-376), which Excel decodes and openpyxl leaves as is.
        assert [str(v).replace("_x000D_", "\r") for v in xrow[4:6]] == ["'" + name] * 2
        assert ws.cell(row=index + 2, column=6).data_type == "s"  # a string, never a formula
