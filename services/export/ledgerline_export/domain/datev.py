"""DATEV EXTF "Buchungsstapel" (format 700, category 21, format version 13), written from memory of the
DATEV interface description — assumptions are listed here so they can be checked against DATEV's own
documentation:

- Line 1 is the 31-field EXTF header: "EXTF";700;21;"Buchungsstapel";13;created (YYYYMMDDHHMMSSfff);
  imported (empty);origin;exported by;imported by;consultant no.;client no.;fiscal-year start (YYYYMMDD);
  account length;date from;date to;label;dictation initials;booking type 1 (financial accounting);
  accounting purpose 0;fixing 0;currency;(reserved);derivative flag;(reserved);(reserved);chart (SKR);
  industry solution id;(reserved);(reserved);application info.
- Line 2 holds the column names. Only the first 14 columns of the Buchungsstapel are written (up to
  "Buchungstext"); the following optional columns are omitted, assuming DATEV accepts shorter rows.
- One row per revenue or VAT movement: Umsatz (positive, decimal comma), S/H seen from Konto (the debtor
  account: S for an invoice, H for a credit note), WKZ Umsatz (document currency), Konto = debtor
  (personal account, account length + 1 digits), Gegenkonto (ohne BU-Schlüssel) = revenue or VAT account
  (explicit VAT bookings, so they must not be DATEV automatic accounts), Belegdatum DDMM, Belegfeld 1 =
  document number (max 36), Buchungstext (max 60).
- A batch covers one fiscal year: every document must fall within [date from, date to], which must not
  cross a fiscal-year start (refused otherwise).
- Encoding: Windows-1252 (DATEV's ANSI import), CRLF; characters outside it become "?". Text fields are
  in double quotes (inner quotes doubled), numbers and dates are not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from ledgerline_export.domain.cells import comma_decimal
from ledgerline_export.domain.journal_entry import AccountPlan, JournalEntry
from ledgerline_export.domain.spreadsheet_safety import neutralise

DATEV_COLUMNS: tuple[str, ...] = (
    "Umsatz (ohne Soll/Haben-Kz)",
    "Soll/Haben-Kennzeichen",
    "WKZ Umsatz",
    "Kurs",
    "Basis-Umsatz",
    "WKZ Basis-Umsatz",
    "Konto",
    "Gegenkonto (ohne BU-Schlüssel)",
    "BU-Schlüssel",
    "Belegdatum",
    "Belegfeld 1",
    "Belegfeld 2",
    "Skonto",
    "Buchungstext",
)


class DatevBatchError(ValueError):
    """A batch DATEV would reject: range across fiscal years, document outside the range, bad account."""


@dataclass(frozen=True)
class DatevOptions:
    consultant_number: int  # Beraternummer
    client_number: int  # Mandantennummer
    date_from: dt.date
    date_to: dt.date
    fiscal_year_start_month: int = 1
    account_length: int = 6  # Sachkontenlänge: the default plan's accounts (706100, 445711) have 6 digits
    chart: str = ""  # SKR, e.g. "03"; empty when accounts are the company's own
    origin: str = "LL"  # Herkunft, two characters
    label: str = "Ledgerline Ausgangsrechnungen"
    account_map: Mapping[str, str] = field(default_factory=dict)  # plan account -> DATEV account
    debtor_accounts: Mapping[str, str] = field(default_factory=dict)  # client code -> debtor account
    default_debtor_account: str | None = None  # first debtor number when a client has none

    def fiscal_year_start(self, day: dt.date) -> dt.date:
        start = dt.date(day.year, self.fiscal_year_start_month, 1)
        return start if start <= day else dt.date(day.year - 1, self.fiscal_year_start_month, 1)


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _text(text: str, limit: int) -> str:
    clean = " ".join(text.split())  # no CR/LF/tab inside a field
    return _quoted(neutralise(clean)[:limit])


class DatevFormat:
    name = "datev"
    encoding = "cp1252"
    newline = "\r\n"
    accounting_currency_only = False

    def __init__(self, plan: AccountPlan, options: DatevOptions, created: dt.datetime) -> None:
        o = options
        if o.date_from > o.date_to:
            raise DatevBatchError("date from is after date to")
        if o.fiscal_year_start(o.date_from) != o.fiscal_year_start(o.date_to):
            raise DatevBatchError(f"{o.date_from}..{o.date_to} crosses a fiscal-year start")
        if not 4 <= o.account_length <= 8:
            raise DatevBatchError("account length must be 4 to 8")
        self.plan = plan
        self.options = o
        self.created = created
        self.default_debtor = o.default_debtor_account or "1" + "0" * o.account_length

    def preamble(self) -> Iterable[str]:
        o = self.options
        created = self.created.strftime("%Y%m%d%H%M%S") + f"{self.created.microsecond // 1000:03d}"
        header: list[str] = [
            _quoted("EXTF"),
            "700",
            "21",
            _quoted("Buchungsstapel"),
            "13",
            created,
            "",
            _quoted(o.origin[:2]),
            _quoted(""),
            _quoted(""),
            str(o.consultant_number),
            str(o.client_number),
            o.fiscal_year_start(o.date_from).strftime("%Y%m%d"),
            str(o.account_length),
            o.date_from.strftime("%Y%m%d"),
            o.date_to.strftime("%Y%m%d"),
            _quoted(o.label[:30]),
            _quoted(""),
            "1",
            "0",
            "0",
            _quoted(self.plan.accounting_currency),
            "",
            _quoted(""),
            "",
            "",
            _quoted(o.chart),
            "",
            "",
            _quoted(""),
            _quoted(""),
        ]
        return [";".join(header), ";".join(_quoted(c) for c in DATEV_COLUMNS)]

    def _ledger_account(self, account: str) -> str:
        mapped = self.options.account_map.get(account, account)
        if not mapped.isdigit() or len(mapped) > self.options.account_length:
            raise DatevBatchError(
                f"account {mapped!r} is not a number of at most {self.options.account_length} digits"
            )
        return mapped

    def _debtor(self, client_code: str) -> str:
        debtor = self.options.debtor_accounts.get(client_code, self.default_debtor)
        if not debtor.isdigit() or len(debtor) != self.options.account_length + 1:
            raise DatevBatchError(
                f"debtor account {debtor!r} must have {self.options.account_length + 1} digits"
            )
        return debtor

    def entry_lines(self, entry: JournalEntry) -> Iterator[str]:
        doc = entry.document
        o = self.options
        if not o.date_from <= doc.issue_date <= o.date_to:
            raise DatevBatchError(f"{doc.number} dated {doc.issue_date} is outside the batch range")
        debtor = self._debtor(doc.client_code)
        date = doc.issue_date.strftime("%d%m")
        number = _text(doc.number, 36)
        label = _text(entry.label, 60)
        currency = _quoted(doc.currency)
        for line in entry.lines:
            if line.receivable:
                continue  # the receivable side is Konto on every other row
            # The line is credited -> the debtor is debited (S); debited -> H.
            amount, side = (line.credit, "S") if line.credit else (line.debit, "H")
            yield ";".join(
                (
                    comma_decimal(amount),
                    _quoted(side),
                    currency,
                    "",
                    "",
                    "",
                    debtor,
                    self._ledger_account(line.account),
                    "",
                    date,
                    number,
                    "",
                    "",
                    label,
                )
            )
