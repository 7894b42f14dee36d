"""Document numbers: PREFIX + YYYY + '-' + six-digit sequence, per series and calendar year.

The sequence is gapless and strictly increasing; this module only computes and parses numbers.
Reserving the next one atomically (so two issuing transactions never share or skip one) is the
repository's job: it reads the last sequence of (series, year) under a lock and calls
`next_number`. Previews carry no number at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from ledgerline_invoicing.domain.errors import InvalidNumber

SEQUENCE_DIGITS = 6
MAX_SEQUENCE = 10**SEQUENCE_DIGITS - 1
_PREFIX = re.compile(r"^[A-Z]{1,8}$")


class Series(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    PROFORMA = "proforma"


DEFAULT_PREFIXES: Mapping[Series, str] = {
    Series.INVOICE: "F",
    Series.CREDIT_NOTE: "AV",
    Series.PROFORMA: "PF",
}


@dataclass(frozen=True)
class DocumentNumber:
    prefix: str
    year: int
    seq: int

    def __str__(self) -> str:
        return format_number(self.prefix, self.year, self.seq)


def check_prefixes(prefixes: Mapping[Series, str]) -> dict[Series, str]:
    """Every series needs its own prefix of 1 to 8 capital letters (configurable, spec section 4)."""
    result: dict[Series, str] = {}
    for series in Series:
        prefix = prefixes.get(series)
        if prefix is None or not _PREFIX.match(prefix):
            raise InvalidNumber(f"prefixes.{series.value}", "must be 1 to 8 capital letters")
        result[series] = prefix
    if len(set(result.values())) != len(result):
        raise InvalidNumber("prefixes", "two series share a prefix")
    return result


def format_number(prefix: str, year: int, seq: int) -> str:
    """format_number("F", 2026, 1) == "F2026-000001"."""
    if not _PREFIX.match(prefix):
        raise InvalidNumber("prefix", f"must be 1 to 8 capital letters, got {prefix!r}")
    if not 1000 <= year <= 9999:
        raise InvalidNumber("year", f"must have four digits, got {year}")
    if not 1 <= seq <= MAX_SEQUENCE:
        raise InvalidNumber("seq", f"must be between 1 and {MAX_SEQUENCE}, got {seq}")
    return f"{prefix}{year:04d}-{seq:0{SEQUENCE_DIGITS}d}"


def next_number(last_seq_for_series_year: int | None) -> int:
    """The sequence after the last one issued in (series, year); 1 for the year's first document."""
    last = last_seq_for_series_year or 0
    if last < 0:
        raise InvalidNumber("seq", f"a last sequence cannot be negative, got {last}")
    if last >= MAX_SEQUENCE:
        raise InvalidNumber("seq", "the series is exhausted for this year")
    return last + 1


def parse_number(number: str) -> DocumentNumber:
    """'AV2026-000042' -> DocumentNumber('AV', 2026, 42); anything else is refused."""
    match = re.fullmatch(rf"([A-Z]{{1,8}})(\d{{4}})-(\d{{{SEQUENCE_DIGITS}}})", number)
    if match is None or int(match.group(3)) == 0:
        raise InvalidNumber("number", f"not a document number: {number!r}")
    return DocumentNumber(match.group(1), int(match.group(2)), int(match.group(3)))


def series_of(number: str, prefixes: Mapping[Series, str] = DEFAULT_PREFIXES) -> Series:
    """Which series a number belongs to, by its prefix."""
    parsed = parse_number(number)
    for series, prefix in prefixes.items():
        if prefix == parsed.prefix:
            return series
    raise InvalidNumber("number", f"unknown prefix {parsed.prefix!r} in {number!r}")
