"""Document numbers: PREFIX + YYYY + '-' + six-digit sequence, per series and calendar year.

The sequence is gapless and strictly increasing; this module holds the format and the series rule.
Reserving numbers atomically (so two issuing transactions never share or skip one) is the number
sequence's job (adapters/number_sequence.py): it moves the (series, year) row under a lock and
returns where it now stands; `block_numbers` turns that into numbers, or refuses an exhausted
series. Previews carry no number at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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


def block_numbers(prefix: str, year: int, last: int, count: int = 1) -> list[str]:
    """The numbers of a block of `count` just taken in (series, year), the sequence now at `last`.

    The series rule: sequences run 1..999999 in a calendar year, without a gap; a block that would
    pass the end is refused (the issuing transaction rolls back and gives the block back).
    `block_numbers("F", 2026, 7, 3) == ["F2026-000005", "F2026-000006", "F2026-000007"]`.
    """
    first = last - count + 1
    if count < 1 or first < 1:
        raise InvalidNumber("seq", f"a block of {count} cannot end at sequence {last}")
    if last > MAX_SEQUENCE:
        raise InvalidNumber("seq", f"the {prefix} series is exhausted for {year}")
    return [format_number(prefix, year, seq) for seq in range(first, last + 1)]
