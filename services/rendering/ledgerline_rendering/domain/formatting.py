"""How amounts, dates and durations are printed; pure functions of the value and the language."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ledgerline_shared.contracts.money import round_cents

_NARROW_NBSP = "\u202f"


def format_amount(value: Decimal, language: str, currency: str | None = None) -> str:
    """`1 234,50 €` in French, `EUR 1,234.50` in English: the cent is never lost (Decimal throughout)."""
    text = f"{round_cents(value):,.2f}"
    if language == "fr":
        text = text.replace(",", _NARROW_NBSP).replace(".", ",")
        if currency:
            return f"{text}\u00a0{'€' if currency == 'EUR' else currency}"
        return text
    return f"{currency}\u00a0{text}" if currency else text


def format_quantity(value: Decimal, language: str) -> str:
    normalized = value.normalize()
    # normalize() writes 1E+1 for 10: go back to plain notation.
    if normalized == normalized.to_integral():
        normalized = normalized.quantize(Decimal(1))
    text = format(normalized, "f")
    return text.replace(".", ",") if language == "fr" else text


def format_price(value: Decimal, language: str) -> str:
    """A unit price shows its significant decimals (0.035 per minute), never fewer than two.

    Trailing zeros are dropped: a database column of scale 6 returns 7.500000 for 7.50.
    """
    value = value.normalize()
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        value = value.quantize(Decimal("0.01"))
    text = format(value, "f")
    return text.replace(".", ",") if language == "fr" else text


def format_rate(value: Decimal, language: str) -> str:
    return f"{format_quantity(value, language)}\u00a0%"


def format_date(value: dt.date, language: str) -> str:
    return value.strftime("%d/%m/%Y") if language == "fr" else value.isoformat()


def format_duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
