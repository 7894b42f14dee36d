"""FEC (Fichier des Écritures Comptables, article A47 A-1 of the LPF): the sales journal as the French
tax administration expects it.

Decisions: one entry per document in the VT "Ventes" journal (names from the AccountPlan); EcritureNum
is a continuous sequence within the file (entries in the order given: the service sorts by issue date
and number), PieceRef the document number; EcritureDate, PieceDate and ValidDate are the issue date
(an issued document is validated when it is numbered); EcritureLet/DateLet empty (no lettering here);
Montantdevise/Idevise empty because only documents in the accounting currency are accepted — a document
in another currency is refused (`ForeignCurrencyDocument`): the FEC needs amounts in EUR and the
read model holds no exchange rate. Character set ISO-8859-15 (listed by the regulation), CRLF lines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from ledgerline_export.domain.cells import comma_decimal, single_line
from ledgerline_export.domain.journal_entry import AccountPlan, JournalEntry
from ledgerline_export.domain.spreadsheet_safety import neutralise

FEC_COLUMNS: tuple[str, ...] = (
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
)
FEC_SEPARATORS = ("\t", "|")


class ForeignCurrencyDocument(ValueError):
    """A document not in the accounting currency: its FEC amounts would be wrong."""


def fec_date(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def fec_file_name(siren: str, closing_date: dt.date) -> str:
    """The administration's naming: <SIREN>FEC<closing date YYYYMMDD>.txt."""
    return f"{siren}FEC{fec_date(closing_date)}.txt"


class FecFormat:
    name = "fec"
    encoding = "iso-8859-15"
    newline = "\r\n"

    def __init__(self, plan: AccountPlan, separator: str = "\t") -> None:
        if separator not in FEC_SEPARATORS:
            raise ValueError(f"FEC separator must be a tab or '|', not {separator!r}")
        self.plan = plan
        self.separator = separator
        self._forbidden = "\t|\r\n"
        self._sequence = 0

    def _text(self, text: str) -> str:
        return neutralise(single_line(text, self._forbidden).strip())

    def preamble(self) -> Iterable[str]:
        return [self.separator.join(FEC_COLUMNS)]

    def entry_lines(self, entry: JournalEntry) -> Iterator[str]:
        doc = entry.document
        if doc.currency != self.plan.accounting_currency:
            raise ForeignCurrencyDocument(
                f"{doc.number} is in {doc.currency}; the FEC is kept in {self.plan.accounting_currency}"
            )
        self._sequence += 1
        day = fec_date(entry.date)
        journal = self._text(self.plan.journal_code)
        journal_label = self._text(self.plan.journal_label)
        number = str(self._sequence)
        piece = self._text(doc.number)
        label = self._text(entry.label)
        sep = self.separator
        for line in entry.lines:
            yield sep.join(
                (
                    journal,
                    journal_label,
                    number,
                    day,
                    self._text(line.account),
                    self._text(line.account_label),
                    self._text(line.auxiliary_account),
                    self._text(line.auxiliary_label),
                    piece,
                    day,
                    label,
                    comma_decimal(line.debit),
                    comma_decimal(line.credit),
                    "",
                    "",
                    day,
                    "",
                    "",
                )
            )
