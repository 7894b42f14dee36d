from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from ledgerline_export.adapters.accounting_file import write_accounting_file
from ledgerline_export.domain.issued_document import IssuedDocument
from ledgerline_export.domain.journal_csv import JOURNAL_CSV_COLUMNS, JournalCsvFormat
from ledgerline_export.domain.journal_entry import AccountPlan


def test_generic_journal_is_balanced_per_document(tmp_path: Path, month: list[IssuedDocument]) -> None:
    plan = AccountPlan()
    path = tmp_path / "journal.csv"
    export = write_accounting_file(path, month, JournalCsvFormat(plan), plan)
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == JOURNAL_CSV_COLUMNS
        rows = list(reader)
    assert len(rows) == export.rows == export.report.lines
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for r in rows:
        sums[r["number"]][0] += Decimal(r["debit"])
        sums[r["number"]][1] += Decimal(r["credit"])
    assert set(sums) == {"F2026-000001", "F2026-000002", "F2026-000003", "AV2026-000001"}
    assert all(debit == credit for debit, credit in sums.values())
    receivable = [r for r in rows if r["account"] == "411000"]
    assert {r["auxiliary_account"] for r in receivable} == {"C0001", "C0002", "C0003"}
    assert rows[0]["date"] == "2026-01-31" and rows[0]["journal"] == "VT"
