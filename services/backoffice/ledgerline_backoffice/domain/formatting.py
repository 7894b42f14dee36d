"""Amounts and dates as the operator's people read them; the only place that formats for the screen.

French (the default): `1 234,56 €`, with no-break spaces (U+00A0) between digit groups and before
the symbol, so an amount never wraps; English: `€1,234.56`. Amounts arrive as the APIs' strings and
are parsed as Decimal, never float.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

NBSP = "\u00a0"
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF"}


def to_decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _group(digits: str, sep: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return sep.join(parts)


def format_number(value: object, places: int = 2, locale: str = "fr") -> str:
    amount = to_decimal(value)
    if amount is None:
        return ""
    quantum = Decimal(1).scaleb(-places)
    rounded = amount.quantize(quantum, rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    whole, _, frac = f"{abs(rounded):f}".partition(".")
    group_sep, decimal_sep = (NBSP, ",") if locale == "fr" else (",", ".")
    text = _group(whole, group_sep)
    if places:
        text += decimal_sep + frac
    return sign + text


def format_money(value: object, currency: str | None = "EUR", locale: str = "fr", places: int = 2) -> str:
    """`1 234,56 €` (fr) or `€1,234.56` (en); an unknown currency is written by its ISO code."""
    number = format_number(value, places, locale)
    if not number:
        return ""
    symbol = SYMBOLS.get(currency or "EUR", currency or "")
    if locale == "fr" or len(symbol) > 1:
        return f"{number}{NBSP}{symbol}"
    if number.startswith("-"):
        return f"-{symbol}{number[1:]}"
    return f"{symbol}{number}"


def format_unit_price(value: object, currency: str | None = "EUR", locale: str = "fr") -> str:
    """A unit price keeps its precision (a call's rate: `0,0151 €`), at least cents, at most 6 places."""
    amount = to_decimal(value)
    if amount is None:
        return ""
    exponent = amount.normalize().as_tuple().exponent
    places = min(6, max(2, -exponent if isinstance(exponent, int) else 2))
    return format_money(amount, currency, locale, places)


def format_quantity(value: object, locale: str = "fr") -> str:
    """A quantity as entered: no trailing zeros (3, 1,5, 0,25)."""
    amount = to_decimal(value)
    if amount is None:
        return ""
    places = max(0, -amount.normalize().as_tuple().exponent)  # type: ignore[operator]
    return format_number(amount, min(int(places), 6), locale)


def format_rate(value: object, locale: str = "fr") -> str:
    """A VAT rate: `20 %` (fr), `20%` (en)."""
    text = format_quantity(value, locale)
    if not text:
        return ""
    return f"{text}{NBSP}%" if locale == "fr" else f"{text}%"


def _parse_date(value: object) -> dt.date | dt.datetime | None:
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        if "T" in value:
            return dt.datetime.fromisoformat(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def format_date(value: object, locale: str = "fr") -> str:
    when = _parse_date(value)
    if when is None:
        return str(value or "")
    day = when.date() if isinstance(when, dt.datetime) else when
    return day.strftime("%d/%m/%Y") if locale == "fr" else day.isoformat()


def format_datetime(value: object, locale: str = "fr") -> str:
    when = _parse_date(value)
    if not isinstance(when, dt.datetime):
        return format_date(value, locale)
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    text = when.strftime("%d/%m/%Y %H:%M") if locale == "fr" else when.strftime("%Y-%m-%d %H:%M")
    return f"{text} UTC"


def format_duration(seconds: object) -> str:
    """A call's length as m:ss (or h:mm:ss)."""
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return ""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def parse_amount(text: str) -> Decimal | None:
    """An amount typed in a form, French or English style (`-50,00`, `1 234.5`); None if not a number."""
    cleaned = text.strip().replace(NBSP, "").replace("\u202f", "").replace(" ", "").replace("€", "")
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None
