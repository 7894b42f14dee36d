"""A generic CSV journal for any other accounting package: one row per journal line.

Columns: date (ISO), journal, number (the document), account, auxiliary_account (the client code on the
receivable line: without it the journal would lose who owes what), label, debit, credit. Comma
separated, dot decimals, UTF-8.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledgerline_export.domain.cells import csv_field, plain_decimal
from ledgerline_export.domain.journal_entry import AccountPlan, JournalEntry
from ledgerline_export.domain.spreadsheet_safety import neutralise

JOURNAL_CSV_COLUMNS: tuple[str, ...] = (
    "date",
    "journal",
    "number",
    "account",
    "auxiliary_account",
    "label",
    "debit",
    "credit",
)


class JournalCsvFormat:
    name = "csv"
    encoding = "utf-8"
    newline = "\r\n"
    accounting_currency_only = False

    def __init__(self, plan: AccountPlan) -> None:
        self.plan = plan
        self._accounts: dict[str, str] = {}  # the chart's few accounts, quoted and neutralised once

    def preamble(self) -> Iterable[str]:
        return [",".join(JOURNAL_CSV_COLUMNS)]

    def _account(self, account: str) -> str:
        text = self._accounts.get(account)
        if text is None:
            text = self._accounts[account] = csv_field(neutralise(account))
        return text

    def entry_lines(self, entry: JournalEntry) -> list[str]:
        doc = entry.document
        date = doc.issue_date.isoformat()
        journal = csv_field(neutralise(self.plan.journal_code))
        number = csv_field(neutralise(doc.number))
        label = csv_field(neutralise(entry.label))
        return [
            ",".join(
                (
                    date,
                    journal,
                    number,
                    self._account(line.account),
                    csv_field(neutralise(line.auxiliary_account)) if line.auxiliary_account else "",
                    label,
                    plain_decimal(line.debit),
                    plain_decimal(line.credit),
                )
            )
            for line in entry.lines
        ]
