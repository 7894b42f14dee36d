"""QuickBooks Desktop IIF (Intuit Interchange Format): one INVOICE (or CREDIT MEMO) transaction per document.

TRNS is the Accounts Receivable line (the gross, positive for an invoice, negative for a credit memo);
one SPL per revenue account and per VAT rate with the opposite sign (debits positive, credits negative),
so each transaction sums to zero. Account names are QuickBooks names: `account_names` maps the plan's
account numbers to them (unmapped: the number itself, which QuickBooks accepts when accounts are
numbered). Dates MM/DD/YYYY, dot decimals, tab separated, no quoting (tabs and line breaks in text
become spaces), Windows-1252 as QuickBooks Desktop reads it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ledgerline_export.domain.cells import UnquotedText, cents
from ledgerline_export.domain.issued_document import IssuedType
from ledgerline_export.domain.journal_entry import AccountPlan, JournalEntry

TRNS_COLUMNS = ("!TRNS", "TRNSID", "TRNSTYPE", "DATE", "ACCNT", "NAME", "AMOUNT", "DOCNUM", "MEMO", "DUEDATE")
SPL_COLUMNS = ("!SPL", "SPLID", "TRNSTYPE", "DATE", "ACCNT", "NAME", "AMOUNT", "DOCNUM", "MEMO")


class IifFormat:
    name = "iif"
    encoding = "cp1252"
    newline = "\r\n"
    accounting_currency_only = False

    def __init__(
        self,
        plan: AccountPlan,
        account_names: Mapping[str, str] | None = None,
        receivable_name: str = "Accounts Receivable",
    ) -> None:
        self.plan = plan
        self.account_names = dict(account_names or {})
        self.receivable_name = receivable_name
        self._text = UnquotedText()

    def preamble(self) -> Iterable[str]:
        return ["\t".join(TRNS_COLUMNS), "\t".join(SPL_COLUMNS), "!ENDTRNS"]

    def entry_lines(self, entry: JournalEntry) -> list[str]:
        doc = entry.document
        kind = "CREDIT MEMO" if doc.type is IssuedType.CREDIT_NOTE else "INVOICE"
        date = doc.issue_date.strftime("%m/%d/%Y")
        due = doc.due_date.strftime("%m/%d/%Y") if doc.due_date else ""
        text = self._text
        name = text(doc.client_name)
        number = text(doc.number)
        memo = text(entry.label)
        transaction: list[str] = []
        splits: list[str] = []
        for line in entry.lines:
            amount = cents(line.debit - line.credit)
            if line.receivable:
                transaction.append(
                    "\t".join(
                        (
                            "TRNS",
                            "",
                            kind,
                            date,
                            text.repeated(self.receivable_name),
                            name,
                            amount,
                            number,
                            memo,
                            due,
                        )
                    )
                )
            else:
                account = text.repeated(self.account_names.get(line.account, line.account))
                splits.append(
                    "\t".join(
                        (
                            "SPL",
                            "",
                            kind,
                            date,
                            account,
                            name,
                            amount,
                            number,
                            text.repeated(line.account_label),
                        )
                    )
                )
        return [*transaction, *splits, "ENDTRNS"]
