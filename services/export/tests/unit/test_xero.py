from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from ledgerline_export.adapters.accounting_file import write_accounting_file
from ledgerline_export.domain.issued_document import IssuedDocument
from ledgerline_export.domain.journal_entry import AccountPlan
from ledgerline_export.domain.xero import XERO_REQUIRED, XeroFormat


def test_xero_csv_has_required_columns_and_exact_amounts(tmp_path: Path, month: list[IssuedDocument]) -> None:
    plan = AccountPlan()
    path = tmp_path / "xero.csv"
    fmt = XeroFormat(plan, tax_types={Decimal("20"): "TVA 20% (collectée)"}, account_codes={"706100": "200"})
    write_accounting_file(path, month, fmt, plan)
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and set(XERO_REQUIRED) <= set(rows[0])
    assert XERO_REQUIRED == (
        "*ContactName",
        "*InvoiceNumber",
        "*InvoiceDate",
        "*DueDate",
        "*Description",
        "*Quantity",
        "*UnitAmount",
        "*AccountCode",
        "*TaxType",
    )
    for row in rows:
        assert all(row[c] for c in XERO_REQUIRED), row
    grouped: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        grouped[row["*InvoiceNumber"]].append(row)
    assert "PF2026-000001" not in grouped
    docs = {d.number: d for d in month}
    for number, lines in grouped.items():
        doc = docs[number]
        amount = sum((Decimal(r["*Quantity"]) * Decimal(r["*UnitAmount"]) for r in lines), Decimal(0))
        assert amount.quantize(Decimal("0.01")) == doc.signed_net
        assert sum(Decimal(r["TaxAmount"]) for r in lines) == doc.signed_vat_total
        assert {Decimal(r["Total"]) for r in lines} == {doc.signed_gross}
    credit = grouped["AV2026-000001"]
    assert all(Decimal(r["*Quantity"]) < 0 for r in credit) and credit[0]["Reference"] == "F2026-000001"
    first = grouped["F2026-000001"][0]
    assert first["*InvoiceDate"] == "31/01/2026" and first["*TaxType"] == "TVA 20% (collectée)"
    assert first["*AccountCode"] == "200" and first["EmailAddress"] == "c0001@example.test"
    hotel = grouped["F2026-000002"]
    assert {r["*TaxType"] for r in hotel} >= {"TVA 10%", "TVA 5.5%", "TVA 2.1%"}
    assert grouped["F2026-000003"][0]["*ContactName"].startswith("'=")
