"""Typed cells of the tabular exports: the domain says what a value *is*; each writer decides its text.

Text is neutralised by the writers (spreadsheet_safety); Decimal amounts and dates are never text.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ledgerline_export.domain.spreadsheet_safety import neutralise

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


def comma_decimal(amount: Decimal) -> str:
    """French/German decimal comma, no thousands separator: 1234.5 -> "1234,50"."""
    return format(amount.quantize(Decimal("0.01")), "f").replace(".", ",")
