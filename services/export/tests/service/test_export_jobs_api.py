"""POST /api/v1/exports: each kind of export runs as a job, and its file is opened back and checked."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from decimal import Decimal

import openpyxl
import pytest
from pypdf import PdfReader

from ledgerline_export.adapters.orm import ExportJobRow

pytestmark = pytest.mark.timeout(120)

JANUARY = {"from": "2026-01-01", "to": "2026-01-31"}
EMAIL = "alice@operator.example"


def signed(doc, amount: Decimal) -> Decimal:
    return -amount if doc.type.value == "credit_note" else amount


def sales_of_january(docs):
    return [d for d in docs if d.issue_date.month == 1 and d.type.value in ("invoice", "credit_note")]


async def run_export(export, body: dict, *, email: str = EMAIL) -> tuple[dict, bytes, str]:
    headers = export.token("accounting", email=email)
    answer = await export.http.post("/api/v1/exports", json=body, headers=headers)
    assert answer.status_code == 202, answer.text
    export_id = answer.json()["id"]
    status = await export.finished(export_id, headers)
    assert status["status"] == "completed", status
    file = await export.http.get(f"/api/v1/exports/{export_id}/file", headers=headers)
    assert file.status_code == 200, file.text
    return status, file.content, file.headers["content-disposition"]


async def test_the_excel_export_totals_are_the_sum_of_the_documents(january_loaded, tmp_path) -> None:
    export, docs = january_loaded
    status, content, disposition = await run_export(export, {"kind": "excel", **JANUARY})
    expected = sales_of_january(docs)
    assert status["progress"] == {"done": len(expected), "total": len(expected), "percent": 100}
    assert status["rows"] == len(expected)
    assert "invoices-20260101-20260131.xlsx" in disposition
    path = tmp_path / "range.xlsx"
    path.write_bytes(content)
    sheet = openpyxl.load_workbook(path, data_only=True).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    totals = rows.pop()
    assert totals[0] == "Total"
    assert sorted(r[0] for r in rows) == sorted(d.number for d in expected)  # no proforma, no February
    column = {name: i for i, name in enumerate(header)}
    assert [n for n in header if str(n).startswith("VAT ")][:4] == [
        "VAT 20%",
        "VAT 10%",
        "VAT 5.5%",
        "VAT 2.1%",
    ]

    def total(name: str) -> Decimal:
        return Decimal(str(totals[column[name]])).quantize(Decimal("0.01"))

    def rows_sum(name: str) -> Decimal:
        return sum((Decimal(str(r[column[name]])) for r in rows), Decimal(0)).quantize(Decimal("0.01"))

    assert total("Net") == rows_sum("Net") == sum(signed(d, d.totals.net_total) for d in expected)
    assert total("Gross") == rows_sum("Gross") == sum(signed(d, d.totals.gross_total) for d in expected)
    assert total("VAT total") == sum(signed(d, d.totals.tax_total) for d in expected)
    ten = sum(signed(d, t.tax_amount) for d in expected for t in d.tax_breakdown if t.vat_rate == 10)
    assert total("VAT 10%") == ten
    assert await export.outbox("export.completed") == []  # notify was not asked


async def test_an_excel_export_with_notify_ends_with_export_completed(january_loaded) -> None:
    export, _docs = january_loaded
    status, _content, _ = await run_export(export, {"kind": "excel", **JANUARY, "notify": True})
    (event,) = await export.outbox("export.completed")
    assert event["key"] == status["id"]
    assert event["data"]["kind"] == "excel" and event["data"]["format"] is None
    assert event["data"]["requested_by"] == EMAIL
    assert export.store.local_path(event["data"]["path"]).is_file()


async def test_the_grouped_pdf_has_every_page_in_number_order_with_a_bookmark_each(january_loaded) -> None:
    export, docs = january_loaded
    status, content, _ = await run_export(export, {"kind": "grouped_pdf", **JANUARY})
    january = [d for d in docs if d.issue_date.month == 1]  # proformas included: "every document"
    widths = {d.number: 500 + 10 * i for i, d in enumerate(docs)}  # as january_loaded rendered them
    pages = {d.number: 1 + i % 2 for i, d in enumerate(docs)}
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) == sum(pages[d.number] for d in january)
    expected_order = [
        "AV2026-000001",
        "AV2026-000002",
        "F2026-000002",
        "F2026-000003",
        "F2026-000010",
        "PF2026-000001",
    ]
    titles = [item.title for item in reader.outline]
    assert [t.split(" – ")[0] for t in titles] == expected_order
    assert titles[0] == "AV2026-000001 – Credit note – Boulangerie Martin – 2026-01-25"
    page = 0
    for item, number in zip(reader.outline, expected_order, strict=True):
        assert reader.get_destination_page_number(item) == page
        for _ in range(pages[number]):
            assert round(float(reader.pages[page].mediabox.width)) == widths[number]
            page += 1
    assert status["rows"] == len(january)
    assert "Documents: 6" in status["report"]


async def test_the_grouped_pdf_lists_documents_not_rendered_yet(export, make_doc) -> None:
    rendered, pending = make_doc("F2026-000001"), make_doc("F2026-000002")
    for doc in (rendered, pending):
        await export.issue(doc)
    await export.render(rendered, pages=3)
    status, content, _ = await run_export(export, {"kind": "grouped_pdf", **JANUARY})
    assert len(PdfReader(io.BytesIO(content)).pages) == 3
    assert "F2026-000002" in status["report"]


def fec_rows(content: bytes) -> tuple[list[str], list[dict[str, str]]]:
    text = content.decode("iso-8859-15")
    assert "\r\n" in text
    lines = text.rstrip("\r\n").split("\r\n")
    header = lines[0].split("\t")
    return header, [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def amount(text: str) -> Decimal:
    return Decimal(text.replace(",", ".")) if text else Decimal(0)


async def test_the_fec_of_a_month_with_invoices_and_credit_notes_balances(january_loaded) -> None:
    export, docs = january_loaded
    status, content, disposition = await run_export(
        export, {"kind": "accounting", "format": "fec", **JANUARY}
    )
    assert "123456789FEC20260131.txt" in disposition
    header, rows = fec_rows(content)
    assert header == [
        "JournalCode",
        "JournalLib",
        "EcritureNum",
        "EcritureDate",
        "CompteNum",
        "CompteLib",
        "CompAuxNum",
        "CompAuxLib",
        "PieceRef",
        "PieceDate",
        "EcritureLib",
        "Debit",
        "Credit",
        "EcritureLet",
        "DateLet",
        "ValidDate",
        "Montantdevise",
        "Idevise",
    ]
    sales = sales_of_january(docs)
    by_entry: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_entry[row["EcritureNum"]].append(row)
        dt.datetime.strptime(row["EcritureDate"], "%Y%m%d")
    assert len(by_entry) == len(sales)  # the proforma is no accounting document
    for lines in by_entry.values():
        assert sum(amount(r["Debit"]) for r in lines) == sum(amount(r["Credit"]) for r in lines)
        assert len({r["PieceRef"] for r in lines}) == 1
    assert sum(amount(r["Debit"]) for r in rows) == sum(amount(r["Credit"]) for r in rows)
    for doc in sales:
        (client,) = [r for r in rows if r["PieceRef"] == doc.number and r["CompteNum"] == "411000"]
        assert client["CompAuxNum"] == doc.buyer.code
        side = "Credit" if doc.type.value == "credit_note" else "Debit"
        assert amount(client[side]) == doc.totals.gross_total
        assert client["EcritureDate"] == doc.issue_date.strftime("%Y%m%d")
    revenue = sum(amount(r["Credit"]) - amount(r["Debit"]) for r in rows if r["CompteNum"].startswith("7"))
    assert revenue == sum(signed(d, d.totals.net_total) for d in sales)
    assert status["rows"] == len(rows)
    assert "Balance check: OK" in status["report"]

    (event,) = await export.outbox("export.completed")
    data = event["data"]
    assert event["key"] == data["export_id"] == status["id"]
    assert (data["kind"], data["format"], data["requested_by"], data["rows"]) == (
        "accounting",
        "fec",
        EMAIL,
        len(rows),
    )
    assert data["path"] == f"exports/{status['id']}/123456789FEC20260131.txt"
    assert export.store.read(data["path"]) == content
    assert "Balance check: OK" in data["report"]


async def test_datev_iif_xero_and_the_csv_journal_are_written(january_loaded) -> None:
    export, docs = january_loaded
    sales = sales_of_january(docs)

    _s, datev, _ = await run_export(export, {"kind": "accounting", "format": "datev", **JANUARY})
    lines = datev.decode("cp1252").split("\r\n")
    assert lines[0].startswith('"EXTF";700;21;"Buchungsstapel"')
    assert {n for n in (d.number for d in sales) if f'"{n}"' in datev.decode("cp1252")} == {
        d.number for d in sales
    }

    _s, iif, _ = await run_export(export, {"kind": "accounting", "format": "iif", **JANUARY})
    rows = [line.split("\t") for line in iif.decode("cp1252").split("\r\n") if line]
    transactions: list[list[list[str]]] = []
    for row in rows[3:]:
        if row[0] == "TRNS":
            transactions.append([row])
        elif row[0] == "SPL":
            transactions[-1].append(row)
    assert len(transactions) == len(sales)
    for transaction in transactions:
        assert sum(Decimal(r[6]) for r in transaction) == 0  # every transaction balances

    _s, xero, _ = await run_export(export, {"kind": "accounting", "format": "xero", **JANUARY})
    table = list(csv.DictReader(io.StringIO(xero.decode("utf-8"))))
    assert {r["*InvoiceNumber"] for r in table} == {d.number for d in sales}
    totals = {r["*InvoiceNumber"]: Decimal(r["Total"]) for r in table}
    assert sum(totals.values()) == sum(signed(d, d.totals.gross_total) for d in sales)

    _s, journal, _ = await run_export(export, {"kind": "accounting", "format": "csv", **JANUARY})
    entries = list(csv.DictReader(io.StringIO(journal.decode("utf-8"))))
    assert {r["number"] for r in entries} == {d.number for d in sales}
    assert sum(Decimal(r["debit"]) for r in entries) == sum(Decimal(r["credit"]) for r in entries)

    events = await export.outbox("export.completed")
    assert [e["data"]["format"] for e in events] == ["datev", "iif", "xero", "csv"]


async def test_a_job_that_cannot_finish_fails_without_a_file_or_an_e_mail(export, make_doc) -> None:
    # 7 % VAT has no collected-VAT account in the plan: no FEC entry can be written for it.
    unmapped = make_doc("F2026-000001", lines=[("Forfait", "1", "10.00", "7.00", "706100")])
    await export.issue(unmapped)
    headers = export.token("accounting", email=EMAIL)
    answer = await export.http.post(
        "/api/v1/exports", json={"kind": "accounting", "format": "fec", **JANUARY}, headers=headers
    )
    status = await export.finished(answer.json()["id"], headers)
    assert status["status"] == "failed" and "7" in status["error"] and "VAT" in status["error"]
    file = await export.http.get(f"/api/v1/exports/{status['id']}/file", headers=headers)
    assert file.status_code == 409
    assert await export.outbox("export.completed") == []
    assert not list(export.store.local_path(f"exports/{status['id']}").glob("*"))  # no half file


async def test_a_job_left_running_by_a_stopped_process_is_run_at_the_next_start(
    start_export, make_doc
) -> None:
    async with start_export() as first:
        await first.issue(make_doc("F2026-000001"))
        # As a process killed mid-export leaves it: recorded, marked running, no task any more, under
        # the dead process's lease for another hour (SQLite is one process: the next start takes it).
        async with first.runtime.sessions() as session, session.begin():
            session.add(
                ExportJobRow(
                    id="00000000-0000-0000-0000-000000000001",
                    kind="accounting",
                    format="csv",
                    date_from=dt.date(2026, 1, 1),
                    date_to=dt.date(2026, 1, 31),
                    status="running",
                    done=0,
                    total=1,
                    requested_by_sub="alice",
                    requested_by_email=EMAIL,
                    notify=True,
                    created_at=dt.datetime.now(dt.UTC),
                    lease_owner="killed-host-4242",
                    lease_expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
                )
            )
    async with start_export() as second:
        headers = second.token("accounting")
        status = await second.finished("00000000-0000-0000-0000-000000000001", headers)
        assert status["status"] == "completed" and status["rows"] == 4  # client, two revenue accounts, VAT
        (event,) = await second.outbox("export.completed")
        assert event["data"]["export_id"] == status["id"]
        async with second.runtime.sessions() as session:
            row = await session.get(ExportJobRow, status["id"])
        assert row is not None and row.finished_at is not None


async def test_documents_are_read_page_by_page_without_loss_or_repeat(export, make_doc, tmp_path) -> None:
    # More than two pages of the feed (200), many sharing one issue date across the page boundaries.
    docs = [make_doc(f"F2026-{n:06d}", issue_date=dt.date(2026, 1, 10 + n % 3)) for n in range(1, 451)]
    for doc in docs:
        await export.issue(doc)
    status, content, _ = await run_export(export, {"kind": "excel", **JANUARY})
    assert status["progress"]["done"] == status["progress"]["total"] == 450
    path = tmp_path / "many.xlsx"
    path.write_bytes(content)
    rows = list(openpyxl.load_workbook(path, read_only=True).active.iter_rows(min_row=2, values_only=True))[
        :-1
    ]
    numbers = [r[0] for r in rows]
    assert len(numbers) == len(set(numbers)) == 450
    assert [(r[2], r[0]) for r in rows] == sorted((r[2], r[0]) for r in rows)  # issue date, then number
    answer = await export.http.get(
        "/api/v1/exports/invoice-list", params={"month": "2026-01"}, headers=export.token("billing")
    )
    assert answer.headers["x-rows"] == "450"
