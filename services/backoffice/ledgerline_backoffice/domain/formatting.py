"""Amounts and dates as the operator's people read them; the only place that formats for the screen.

The figures follow `ledgerline_shared.formatting`, the rule the PDF and the e-mail use, so a clerk
reads on the screen what the client reads on paper: French (the default) `1 234,56 €` with no-break
spaces, so an amount never wraps; English `EUR 1,234.56`; a unit price at most 4 decimals. What only
the screen needs lives here: values arrive as the APIs' strings (parsed as Decimal, never float, and
an unreadable one shows as nothing), times of day, call lengths as m:ss, amounts typed in forms.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from ledgerline_shared import formatting as shared
from ledgerline_shared.formatting import with_currency

NBSP = shared.NBSP
# What a usage line's quantity counts, by its UN/ECE unit (a C62 count depends on the usage kind).
_UNITS = {"fr": {"MIN": "min", "4L": "Mo", "E34": "Go"}, "en": {"MIN": "min", "4L": "MB", "E34": "GB"}}
_COUNTS = {"fr": {"sms": "SMS", "voice": "appels"}, "en": {"sms": "SMS", "voice": "calls"}}


def to_decimal(value: object) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def format_money(value: object, currency: str | None = "EUR", locale: str = "fr") -> str:
    """`1 234,56 €` (fr) or `EUR 1,234.56` (en), to the cent half-up."""
    amount = to_decimal(value)
    if amount is None:
        return ""
    return shared.format_amount(amount, shared.language_of(locale), currency or "EUR")


def format_unit_price(value: object, currency: str | None = "EUR", locale: str = "fr") -> str:
    """A unit price: its significant decimals, at least two, at most four (`0,0151 €`, `12,6033 €`)."""
    amount = to_decimal(value)
    if amount is None:
        return ""
    language = shared.language_of(locale)
    return with_currency(shared.format_price(amount, language), language, currency or "EUR")


def format_quantity(value: object, locale: str = "fr") -> str:
    """A quantity as entered: no trailing zeros (3, 1,5, 0,25)."""
    amount = to_decimal(value)
    return "" if amount is None else shared.format_quantity(amount, shared.language_of(locale))


def format_rate(value: object, locale: str = "fr") -> str:
    """A VAT rate: `20 %`."""
    amount = to_decimal(value)
    return "" if amount is None else shared.format_rate(amount, shared.language_of(locale))


def format_proration(proration: object, currency: str | None = "EUR", locale: str = "fr") -> str:
    """A prorated line's computation as the PDF prints it: `49,90 € × 15/30 jours`."""
    if not isinstance(proration, Mapping):
        return ""
    price = to_decimal(proration.get("monthly_price"))
    days, period_days = proration.get("days"), proration.get("period_days")
    if price is None or not isinstance(days, int) or not isinstance(period_days, int):
        return ""
    return shared.format_proration(price, days, period_days, shared.language_of(locale), currency or "EUR")


def line_unit(line: object, locale: str = "fr") -> str:
    """The unit after a usage line's quantity (`135 min`, `42 SMS`, `850 Mo`); empty for other lines."""
    if not isinstance(line, Mapping) or not line.get("usage_kind"):
        return ""
    language = shared.language_of(locale)
    unit = str(line.get("unit") or "C62")
    if unit == "C62":
        return _COUNTS[language].get(str(line["usage_kind"]), "")
    return _UNITS[language].get(unit, "")


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
    """`30/11/2026` (fr), `30 Nov 2026` (en); a value that is not a date is shown as it came."""
    when = _parse_date(value)
    if when is None:
        return str(value or "")
    day = when.date() if isinstance(when, dt.datetime) else when
    return shared.format_date(day, shared.language_of(locale))


def format_datetime(value: object, locale: str = "fr") -> str:
    """A moment in UTC, to the minute: the screen's own (the documents print days only)."""
    when = _parse_date(value)
    if not isinstance(when, dt.datetime):
        return format_date(value, locale)
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    return f"{format_date(when, locale)} {when:%H:%M} UTC"


def format_duration(seconds: object) -> str:
    """A call's length as m:ss (or h:mm:ss): shorter than the PDF's h:mm:ss in a screen's column."""
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
