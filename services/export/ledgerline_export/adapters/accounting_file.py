"""Writes an accounting format to disk, streaming, and returns the report that goes in the e-mail.

Lines are encoded with the format's character set; characters it cannot carry become "?" (reported by
the importer as such rather than failing the whole export). Writes go through a buffer in batches.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ledgerline_export.adapters.atomic_file import atomic_target
from ledgerline_export.domain.accounting_format import AccountingFormat, accounting_chunks
from ledgerline_export.domain.accounting_report import AccountingReport
from ledgerline_export.domain.issued_document import IssuedDocument
from ledgerline_export.domain.journal_entry import AccountPlan

BATCH_LINES = 2000


@dataclass(frozen=True)
class AccountingExport:
    path: Path
    report: AccountingReport

    @property
    def rows(self) -> int:
        return self.report.rows

    @property
    def report_text(self) -> str:
        return self.report.text()


def write_accounting_file(
    path: Path, documents: Iterable[IssuedDocument], fmt: AccountingFormat, plan: AccountPlan
) -> AccountingExport:
    report = AccountingReport(format=fmt.name)
    newline = fmt.newline
    batch: list[str] = []
    # A refusal mid-way (unbalanced entry, foreign currency...) must not leave a half file behind.
    with (
        atomic_target(path) as tmp,
        tmp.open("w", encoding=fmt.encoding, errors="replace", newline="") as out,
    ):
        for lines in accounting_chunks(documents, fmt, plan, report):
            batch += lines
            if len(batch) >= BATCH_LINES:
                out.write(newline.join(batch) + newline)
                batch.clear()
        if batch:
            out.write(newline.join(batch) + newline)
    return AccountingExport(path, report)
