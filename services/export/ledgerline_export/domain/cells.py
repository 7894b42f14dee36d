"""Typed cells of the tabular exports: the domain says what a value *is*; each writer decides its text.

Text is neutralised by the writers (spreadsheet_safety); Decimal amounts and dates are never text.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ledgerline_export.domain.spreadsheet_safety import DANGEROUS_FIRST_CHARACTERS, neutralise

CENT = Decimal("0.01")
UNSAFE_START = DANGEROUS_FIRST_CHARACTERS | {" "}  # a leading space is stripped, then the next is checked

Cell = str | Decimal | dt.date | int | None


def plain_text(cell: Cell) -> str:
    """The default CSV rendering: ISO dates, Decimal as written ("123.40"), neutralised text."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        return neutralise(cell)
    if isinstance(cell, Decimal):
        return format(cell, "f")
    if isinstance(cell, dt.date):
        return cell.isoformat()
    return str(cell)


def csv_field(text: str, delimiter: str = ",") -> str:
    """RFC 4180 quoting, for formats whose lines the domain builds itself."""
    if delimiter in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def single_line(text: str, forbidden: str = "\t\r\n") -> str:
    """For formats without quoting (FEC, IIF): separators and line breaks become spaces."""
    for ch in forbidden:
        if ch in text:
            text = text.replace(ch, " ")
    return text


def plain_decimal(amount: Decimal) -> str:
    """The Decimal as written, never in exponent notation: format(amount, "f"), cheaper."""
    text = str(amount)  # str() equals format "f" unless it chose exponent notation
    return text if "E" not in text else format(amount, "f")


def cents(amount: Decimal) -> str:
    """Two decimals, dot: 1234.5 -> "1234.50" (the context's rounding, half-even, for more decimals)."""
    text = str(amount)
    # Already in cents (exponent -2, the amounts of every issued document): quantize would change nothing.
    # The length bound keeps the coefficient within the context's 28 digits, beyond which quantize raises.
    if text[-3:-2] == "." and len(text) < 30:
        return text
    return format(amount.quantize(CENT), "f")


def comma_decimal(amount: Decimal) -> str:
    """French/German decimal comma, no thousands separator: 1234.5 -> "1234,50"."""
    text = str(amount)  # cents() inlined: two calls per line of a million-line FEC
    if text[-3:-2] == "." and len(text) < 30:
        return text.replace(".", ",")
    return format(amount.quantize(CENT), "f").replace(".", ",")


class UnquotedText:
    """Text cells of a format without quoting (FEC, IIF): one line, no separator, trimmed, neutralised.

    Most values need none of it; they are recognised with a few C-level string checks and returned
    as they are. Values that repeat on every entry (accounts, their labels) are worked out once.
    """

    def __init__(self, forbidden: str = "\t\r\n") -> None:
        self.forbidden = forbidden
        # isprintable() already rules out tabs, line breaks and every whitespace but the space.
        self._visible_forbidden = "".join(ch for ch in forbidden if ch.isprintable())
        self._known: dict[str, str] = {}

    def plain(self, text: str) -> bool:
        """True when the text needs nothing done: printable, no separator, nothing to trim or neutralise.
        A text made of plain parts joined by spaces, starting and ending with a plain non-empty part,
        is plain too (FEC labels are checked that way)."""
        if text.isprintable() and text[:1] not in UNSAFE_START and text[-1:] != " ":
            for ch in self._visible_forbidden:
                if ch in text:
                    return False
            return True
        return False

    def __call__(self, text: str) -> str:
        if self.plain(text):
            return text
        return neutralise(single_line(text, self.forbidden).strip())

    def repeated(self, text: str) -> str:
        """The same, remembered: for values from a bounded set (the chart of accounts, its labels)."""
        known = self._known.get(text)
        if known is None:
            known = self._known[text] = self(text)
        return known
