"""GET /api/v1/exports/invoice-list: the month's list as CSV and XLSX, opened back and summed."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl
import pytest

pytestmark = pytest.mark.timeout(60)

STAFF = ("accounting",)


def signed(doc, amount: Decimal) -> Decimal:
    return -amount if doc.type.value == "credit_note" else amount


def of_month(docs, month: str):
    return [d for d in docs if d.issue_date.strftime("%Y-%m") == month]


async def test_the_month_as_csv_sums_to_its_documents(january_loaded) -> None:
    export, docs = january_loaded
    answer = await export.http.get(
        "/api/v1/exports/invoice-list",
        params={"month": "2026-01", "format": "csv"},
        headers=export.token(*STAFF),
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert 'filename="invoices-2026-01.csv"' in answer.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    expected = of_month(docs, "2026-01")
    assert sorted(r["number"] for r in table) == sorted(d.number for d in expected)
    assert "F2026-000011" not in {r["number"] for r in table}  # February's
    assert [r["issue_date"] for r in table] == sorted(r["issue_date"] for r in table)
    for column, field in (("net", "net_total"), ("vat", "tax_total"), ("gross", "gross_total")):
        assert sum(Decimal(r[column]) for r in table) == sum(
            signed(d, getattr(d.totals, field)) for d in expected
        ), column
    by_number = {r["number"]: r for r in table}
    assert by_number["F2026-000010"]["status"] == "partially_credited"
    assert by_number["F2026-000003"]["status"] == "credited"
    assert by_number["AV2026-000001"]["gross"].startswith("-")
    assert by_number["F2026-000003"]["client_name"] == '\'=HYPERLINK("http://x")'  # never a formula


async def test_the_month_as_xlsx_sums_to_its_documents(january_loaded, tmp_path) -> None:
    export, docs = january_loaded
    answer = await export.http.get(
        "/api/v1/exports/invoice-list",
        params={"month": "2026-01", "format": "xlsx"},
        headers=export.token(*STAFF),
    )
    assert answer.status_code == 200, answer.text
    path = tmp_path / "list.xlsx"
    path.write_bytes(answer.content)
    sheet = openpyxl.load_workbook(path).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert header[0] == "number" and header[8] == "gross"
    expected = of_month(docs, "2026-01")
    assert len(rows) == len(expected) == int(answer.headers["x-rows"])
    gross = sum(Decimal(str(r[8])) for r in rows)
    assert gross == sum(signed(d, d.totals.gross_total) for d in expected)
    names = {r[0]: r[5] for r in rows}
    assert names["F2026-000003"].startswith("'=")  # text, not a formula
    assert not list((export.settings.data_dir / "tmp").iterdir())  # the scratch file is gone


async def test_a_month_without_documents_is_a_header_only(export) -> None:
    answer = await export.http.get(
        "/api/v1/exports/invoice-list", params={"month": "2025-07"}, headers=export.token(*STAFF)
    )
    assert answer.status_code == 200
    assert answer.content.decode("utf-8-sig").splitlines() == [
        "number,type,issue_date,due_date,client_code,client_name,net,vat,gross,currency,status"
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"month": "2026-13"}, "month"),
        ({"month": "January"}, "month"),
        ({"month": "2026-01", "format": "pdf"}, "format"),
    ],
)
async def test_a_bad_list_request_is_refused_naming_the_parameter(export, params, field) -> None:
    answer = await export.http.get(
        "/api/v1/exports/invoice-list", params=params, headers=export.token(*STAFF)
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", field]


async def test_the_list_needs_an_export_role(export) -> None:
    url, params = "/api/v1/exports/invoice-list", {"month": "2026-01"}
    assert (await export.http.get(url, params=params)).status_code == 401
    assert (await export.http.get(url, params=params, headers=export.token("readonly"))).status_code == 403
    assert (await export.http.get(url, params=params, headers=export.token("client:c1"))).status_code == 403
