"""What every accounting file format provides, and the streaming loop that drives one over documents.

A format turns journal entries into text lines (the domain knows each format's quoting and number rules);
the adapter only encodes and writes them. Nothing is accumulated: one document at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from ledgerline_export.domain.accounting_report import AccountingReport
from ledgerline_export.domain.issued_document import IssuedDocument
from ledgerline_export.domain.journal_entry import AccountPlan, JournalEntry, journal_entry

PROFORMA_EXCLUDED = "proforma, not an accounting document"
ZERO_EXCLUDED = "zero amount"
FOREIGN_CURRENCY_EXCLUDED = "not in the accounting currency: the file is kept in it, book these by hand"


class AccountingFormat(Protocol):
    name: str
    encoding: str  # the file's character set, as the importing software expects
    newline: str
    # True where the file holds amounts in the accounting currency only (FEC): a document in another
    # currency is left out and named in the report, rather than failing the whole export.
    accounting_currency_only: bool

    def preamble(self) -> Iterable[str]: ...

    def entry_lines(self, entry: JournalEntry) -> Iterable[str]: ...


def accounting_chunks(
    documents: Iterable[IssuedDocument],
    fmt: AccountingFormat,
    plan: AccountPlan,
    report: AccountingReport,
) -> Iterator[list[str]]:
    """The file's lines, a list per entry, preamble first; the report is filled as they are consumed.
    An entry at a time rather than a line at a time: a million-line file pays the loop per document."""
    yield list(fmt.preamble())
    for doc in documents:
        if not doc.is_accounting_document:
            report.exclude(doc, PROFORMA_EXCLUDED)
            continue
        if fmt.accounting_currency_only and doc.currency != plan.accounting_currency:
            report.exclude(doc, FOREIGN_CURRENCY_EXCLUDED, name=True)
            continue
        entry = journal_entry(doc, plan)
        if entry is None:
            report.exclude(doc, ZERO_EXCLUDED)
            continue
        report.add_entry(entry)
        lines = fmt.entry_lines(entry)
        if not isinstance(lines, list):
            lines = list(lines)
        report.rows += len(lines)
        yield lines
