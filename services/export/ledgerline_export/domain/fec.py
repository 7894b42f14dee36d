"""FEC (Fichier des Écritures Comptables, article A47 A-1 of the LPF): the sales journal as the French
tax administration expects it.

Decisions: one entry per document in the VT "Ventes" journal (names from the AccountPlan); EcritureNum
is a continuous sequence within the file (entries in the order given: the service sorts by issue date
and number), PieceRef the document number; EcritureDate, PieceDate and ValidDate are the issue date
(an issued document is validated when it is numbered); EcritureLet/DateLet empty (no lettering here);
Montantdevise/Idevise empty because only documents in the accounting currency are written: the FEC
needs amounts in EUR and the read model holds no exchange rate, so a document in another currency is
left out of the file and named in the e-mailed report, to be booked by hand at the day's rate
(`accounting_currency_only`; `ForeignCurrencyDocument` still guards `entry_lines` itself).
Character set ISO-8859-15 (listed by the regulation), CRLF lines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from ledgerline_export.domain.cells import UnquotedText, comma_decimal
from ledgerline_export.domain.journal_entry import ZERO, AccountPlan, JournalEntry

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
    accounting_currency_only = True

    def __init__(self, plan: AccountPlan, separator: str = "\t") -> None:
        if separator not in FEC_SEPARATORS:
            raise ValueError(f"FEC separator must be a tab or '|', not {separator!r}")
        self.plan = plan
        self.separator = separator
        # Both separators are forbidden whichever is used: the file stays readable with either.
        self._text = UnquotedText("\t|\r\n")
        self._journal = separator.join((self._text(plan.journal_code), self._text(plan.journal_label)))
        self._dates: dict[dt.date, str] = {}
        self._accounts: dict[tuple[str, str], str] = {}
        # Per client (code, name): CompAuxNum and CompAuxLib joined, and whether the name is plain
        # text (then so is a label made of plain parts). Bounded by the number of clients.
        self._clients: dict[tuple[str, str], tuple[str, bool]] = {}
        self._sequence = 0

    def preamble(self) -> Iterable[str]:
        return [self.separator.join(FEC_COLUMNS)]

    def _date(self, day: dt.date) -> str:
        text = self._dates.get(day)
        if text is None:
            text = self._dates[day] = fec_date(day)
        return text

    def _account(self, account: str, label: str) -> str:
        """CompteNum and CompteLib, joined: a few accounts recur on every entry, each worked out once."""
        text = self._accounts.get((account, label))
        if text is None:
            text = self._accounts[(account, label)] = self.separator.join(
                (self._text.repeated(account), self._text.repeated(label))
            )
        return text

    def _client(self, code: str, name: str) -> tuple[str, bool]:
        known = self._clients.get((code, name))
        if known is None:
            text = self._text
            aux = self.separator.join((text(code) if code else "", text(name) if name else ""))
            known = self._clients[(code, name)] = (aux, bool(name) and text.plain(name))
        return known

    def entry_lines(self, entry: JournalEntry) -> list[str]:
        doc = entry.document
        if doc.currency != self.plan.accounting_currency:
            raise ForeignCurrencyDocument(
                f"{doc.number} is in {doc.currency}; the FEC is kept in {self.plan.accounting_currency}"
            )
        self._sequence += 1
        sep = self.separator
        text = self._text
        day = self._date(entry.date)
        aux, plain_name = self._client(doc.client_code, doc.client_name)
        number = doc.number
        label = entry.label
        if text.plain(number):
            # "Facture <number> <name>" of plain parts, the name not empty, is plain: nothing to check.
            piece = sep.join((number, day, label if plain_name else text(label)))
        else:
            piece = sep.join((text(number), day, text(label)))
        # The columns around the per-line ones are the same on every line of the entry: joined once.
        head = sep.join((self._journal, str(self._sequence), day))
        tail = sep.join(("", "", day, "", ""))
        rows = []
        for line in entry.lines:
            rows.append(
                sep.join(
                    (
                        head,
                        self._account(line.account, line.account_label),
                        # Only the client's line has an auxiliary account: the client's code and name.
                        aux if line.receivable else sep,
                        piece,
                        # One side of every line is the shared ZERO: its text is known.
                        "0,00" if line.debit is ZERO else comma_decimal(line.debit),
                        "0,00" if line.credit is ZERO else comma_decimal(line.credit),
                        tail,
                    )
                )
            )
        return rows
