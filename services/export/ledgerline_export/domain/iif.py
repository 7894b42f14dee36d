"""QuickBooks Desktop IIF (Intuit Interchange Format): one INVOICE (or CREDIT MEMO) transaction per document.

TRNS is the Accounts Receivable line (the gross, positive for an invoice, negative for a credit memo);
one SPL per revenue account and per VAT rate with the opposite sign (debits positive, credits negative),
so each transaction sums to zero. Account names are QuickBooks names: `account_names` maps the plan's
account numbers to them (unmapped: the number itself, which QuickBooks accepts when accounts are
numbered). Dates MM/DD/YYYY, dot decimals, tab separated, no quoting (tabs and line breaks in text
become spaces), Windows-1252 as QuickBooks Desktop reads it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal

from ledgerline_export.domain.cells import single_line
from ledgerline_export.domain.issued_document import IssuedType
from ledgerline_export.domain.journal_entry import AccountPlan, JournalEntry
from ledgerline_export.domain.spreadsheet_safety import neutralise

TRNS_COLUMNS = ("!TRNS", "TRNSID", "TRNSTYPE", "DATE", "ACCNT", "NAME", "AMOUNT", "DOCNUM", "MEMO", "DUEDATE")
SPL_COLUMNS = ("!SPL", "SPLID", "TRNSTYPE", "DATE", "ACCNT", "NAME", "AMOUNT", "DOCNUM", "MEMO")


def _text(text: str) -> str:
    return neutralise(single_line(text).strip())


def _amount(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


class IifFormat:
    name = "iif"
    encoding = "cp1252"
    newline = "\r\n"

    def __init__(
        self,
        plan: AccountPlan,
        account_names: Mapping[str, str] | None = None,
        receivable_name: str = "Accounts Receivable",
    ) -> None:
        self.plan = plan
        self.account_names = dict(account_names or {})
        self.receivable_name = receivable_name

    def preamble(self) -> Iterable[str]:
        return ["\t".join(TRNS_COLUMNS), "\t".join(SPL_COLUMNS), "!ENDTRNS"]

    def entry_lines(self, entry: JournalEntry) -> Iterator[str]:
        doc = entry.document
        kind = "CREDIT MEMO" if doc.type is IssuedType.CREDIT_NOTE else "INVOICE"
        date = doc.issue_date.strftime("%m/%d/%Y")
        due = doc.due_date.strftime("%m/%d/%Y") if doc.due_date else ""
        name = _text(doc.client_name)
        number = _text(doc.number)
        memo = _text(entry.label)
        for line in entry.lines:
            if line.receivable:
                yield "\t".join(
                    (
                        "TRNS",
                        "",
                        kind,
                        date,
                        _text(self.receivable_name),
                        name,
                        _amount(line.debit - line.credit),
                        number,
                        memo,
                        due,
                    )
                )
        for line in entry.lines:
            if not line.receivable:
                account = _text(self.account_names.get(line.account, line.account))
                yield "\t".join(
                    (
                        "SPL",
                        "",
                        kind,
                        date,
                        account,
                        name,
                        _amount(line.debit - line.credit),
                        number,
                        _text(line.account_label),
                    )
                )
        yield "ENDTRNS"
