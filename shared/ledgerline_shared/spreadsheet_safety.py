"""Formula-injection neutralisation for every CSV and XLSX cell we write (spec section 3).

Decision (every service writing CSV or XLSX: export's files, invoicing's review CSV and
consumption.csv): a *text* cell whose first character is one of `= + - @`, TAB or CR gets a single
quote prepended (OWASP's CSV-injection advice). The quote is visible in the file: spreadsheets then
show the text instead of evaluating it, and the original is still readable. Numbers are never text
cells: amounts travel as Decimal and are written as numbers (XLSX) or plain numerals (CSV), so
"-50.00" stays a number.
The same rule is applied to the accounting files (FEC, DATEV, IIF, Xero, journal CSV): they are opened
in spreadsheets too, and a leading quote in a label is harmless to the importers.
"""

from __future__ import annotations

DANGEROUS_FIRST_CHARACTERS = frozenset("=+-@\t\r")


def neutralise(text: str) -> str:
    """The text, made inert as a spreadsheet cell."""
    if text and text[0] in DANGEROUS_FIRST_CHARACTERS:
        return "'" + text
    return text


def is_neutral(text: str) -> bool:
    return not text or text[0] not in DANGEROUS_FIRST_CHARACTERS
