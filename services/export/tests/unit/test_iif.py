from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ledgerline_export.adapters.accounting_file import write_accounting_file
from ledgerline_export.domain.iif import IifFormat
from ledgerline_export.domain.issued_document import IssuedDocument
from ledgerline_export.domain.journal_entry import AccountPlan


def _transactions(path: Path) -> tuple[list[list[str]], list[list[list[str]]]]:
    lines = [line.split("\t") for line in path.read_bytes().decode("cp1252").split("\r\n") if line]
    headers, body = lines[:3], lines[3:]
    transactions: list[list[list[str]]] = []
    current: list[list[str]] = []
    for fields in body:
        if fields[0] == "ENDTRNS":
            transactions.append(current)
            current = []
        else:
            current.append(fields)
    assert not current  # every transaction closed
    return headers, transactions


def test_iif_transactions_sum_to_zero(tmp_path: Path, month: list[IssuedDocument]) -> None:
    plan = AccountPlan()
    path = tmp_path / "export.iif"
    fmt = IifFormat(plan, account_names={"706100": "Sales:Mobile", "445711": "Sales Tax Payable:TVA 20"})
    export = write_accounting_file(path, month, fmt, plan)
    headers, transactions = _transactions(path)
    assert headers[0][:7] == ["!TRNS", "TRNSID", "TRNSTYPE", "DATE", "ACCNT", "NAME", "AMOUNT"]
    assert headers[1][:7] == ["!SPL", "SPLID", "TRNSTYPE", "DATE", "ACCNT", "NAME", "AMOUNT"]
    assert headers[2] == ["!ENDTRNS"]
    assert len(transactions) == 4 == export.report.entries
    col = {name: i for i, name in enumerate(headers[0])}
    for tx in transactions:
        assert tx[0][0] == "TRNS" and all(f[0] == "SPL" for f in tx[1:])
        assert sum(Decimal(f[col["AMOUNT"]]) for f in tx) == 0
    by_number = {tx[0][col["DOCNUM"]]: tx for tx in transactions}
    invoice = by_number["F2026-000001"]
    assert invoice[0][col["TRNSTYPE"]] == "INVOICE" and invoice[0][col["ACCNT"]] == "Accounts Receivable"
    assert invoice[0][col["AMOUNT"]] == "86.78" and invoice[0][col["DATE"]] == "01/31/2026"
    assert {f[col["ACCNT"]] for f in invoice[1:]} == {"Sales:Mobile", "706200", "Sales Tax Payable:TVA 20"}
    assert all(Decimal(f[col["AMOUNT"]]) < 0 for f in invoice[1:])
    memo = by_number["AV2026-000001"]
    assert memo[0][col["TRNSTYPE"]] == "CREDIT MEMO" and memo[0][col["AMOUNT"]] == "-23.99"
    assert by_number["F2026-000003"][0][col["NAME"]].startswith("'=")
