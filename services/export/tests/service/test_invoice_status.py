"""Issue 12 item 3: export shows the status invoicing decided, carried by the credit notes, in its lists."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from ledgerline_shared.contracts.document import Document, DocumentType, InvoiceStatus

pytestmark = pytest.mark.timeout(60)

LINES = [("Forfait", "2", "50.00", "20.00", "706100")]  # 120.00 gross
HALF = [("Forfait", "1", "50.00", "20.00", "706100")]  # 60.00 gross


def credit_note(make_doc, number: str, lines, status: InvoiceStatus, credited: str) -> Document:
    note: Document = make_doc(number, DocumentType.CREDIT_NOTE, original="F2026-000001", lines=lines)
    return note.model_copy(
        update={"credited_invoice_status": status, "credited_invoice_total": Decimal(credited)}
    )


async def listed_status(export, number: str = "F2026-000001") -> str:
    answer = await export.http.get(
        "/api/v1/exports/invoice-list",
        params={"month": "2026-01", "format": "csv"},
        headers=export.token("accounting"),
    )
    assert answer.status_code == 200, answer.text
    table = csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig")))
    return next(r["status"] for r in table if r["number"] == number)


async def test_an_invoice_cancelled_by_method_a_is_listed_cancelled(export, make_doc) -> None:
    await export.issue(make_doc("F2026-000001", lines=LINES))
    await export.issue(credit_note(make_doc, "AV2026-000001", LINES, InvoiceStatus.CANCELLED, "120.00"))
    assert await listed_status(export) == "cancelled"  # never recomputed as "credited"


async def test_a_partial_credit_is_listed_partially_credited(export, make_doc) -> None:
    await export.issue(make_doc("F2026-000001", lines=LINES))
    await export.issue(
        credit_note(make_doc, "AV2026-000001", HALF, InvoiceStatus.PARTIALLY_CREDITED, "60.00")
    )
    assert await listed_status(export) == "partially_credited"


async def test_two_notes_read_in_reverse_order_end_with_the_newer_status(export, make_doc) -> None:
    first = credit_note(make_doc, "AV2026-000001", HALF, InvoiceStatus.PARTIALLY_CREDITED, "60.00")
    second = credit_note(make_doc, "AV2026-000002", HALF, InvoiceStatus.CANCELLED, "120.00")
    await export.issue(make_doc("F2026-000001", lines=LINES))
    await export.issue(second)
    await export.issue(first)  # older, read late
    assert await listed_status(export) == "cancelled"


async def test_notes_read_before_their_invoice_give_it_the_newest_status(export, make_doc) -> None:
    await export.issue(credit_note(make_doc, "AV2026-000002", HALF, InvoiceStatus.CANCELLED, "120.00"))
    await export.issue(
        credit_note(make_doc, "AV2026-000001", HALF, InvoiceStatus.PARTIALLY_CREDITED, "60.00")
    )
    await export.issue(make_doc("F2026-000001", lines=LINES))
    assert await listed_status(export) == "cancelled"


async def test_the_excel_export_shows_the_status_from_the_note(export, make_doc, tmp_path) -> None:
    import openpyxl

    await export.issue(make_doc("F2026-000001", lines=LINES))
    await export.issue(credit_note(make_doc, "AV2026-000001", LINES, InvoiceStatus.CANCELLED, "120.00"))
    headers = export.token("accounting", email="alice@operator.example")
    body = {"kind": "excel", "from": "2026-01-01", "to": "2026-01-31"}
    answer = await export.http.post("/api/v1/exports", json=body, headers=headers)
    assert answer.status_code == 202, answer.text
    status = await export.finished(answer.json()["id"], headers)
    assert status["status"] == "completed", status
    file = await export.http.get(f"/api/v1/exports/{status['id']}/file", headers=headers)
    path = tmp_path / "e.xlsx"
    path.write_bytes(file.content)
    header, *rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    by_number = {r[0]: dict(zip(header, r, strict=True)) for r in rows if r[0]}
    assert by_number["F2026-000001"]["Status"] == "cancelled"
