"""How amounts, dates, periods and quantities read, in the client's language (fr, en).

One module for the PDF (rendering) and the e-mail (notification), so the figure a client reads in
the message is the one printed on the attached document, character for character. Pure functions:
Decimal in, text out; the cent is never lost (no float anywhere).

French: `1 234,50 €` (narrow no-break space between thousands, no-break space before the symbol),
dates `01/02/2026`, data volumes in Mo/Go. English: `EUR 1,234.50`, dates `1 Feb 2026` (a month
name: neither the US nor the UK reader can misread it), volumes in MB/GB.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from ledgerline_shared.contracts.money import round_cents

Language = Literal["fr", "en"]
LANGUAGES: tuple[Language, ...] = ("fr", "en")
DEFAULT_LANGUAGE: Language = "fr"  # the spec's default client language

NARROW_NBSP = "\u202f"  # French thousands separator
NBSP = "\u00a0"
MAX_PRICE_DECIMALS = 4  # a unit price never prints more: a clerk checks it by hand
MEGABYTES_PER_GIGABYTE = Decimal(1000)  # UN/ECE 4L and E34 are SI units (10^6 and 10^9 bytes)

_MONTHS = {
    "fr": (
        "janvier", "février", "mars", "avril", "mai", "juin",
        "juillet", "août", "septembre", "octobre", "novembre", "décembre",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip
_CURRENCY_SYMBOLS_FR = {"EUR": "€"}
_DAYS = {"fr": ("jour", "jours"), "en": ("day", "days")}
_DATA_UNITS = {"fr": ("Mo", "Go"), "en": ("MB", "GB")}


def language_of(value: str | None) -> Language:
    """`fr`, `en`, `en-GB`, `FR`... to a language we write; anything else is French."""
    primary = (value or "").strip().lower().replace("_", "-").split("-")[0]
    for language in LANGUAGES:
        if primary == language:
            return language
    return DEFAULT_LANGUAGE


def _group(text: str, language: str) -> str:
    """`1,234.5` (Python's grouping) in the language's separators."""
    if language == "fr":
        return text.replace(",", NARROW_NBSP).replace(".", ",")
    return text


def _plain(value: Decimal) -> Decimal:
    """Trailing zeros dropped (a scale-6 column gives 7.500000), never the 1E+1 notation."""
    normalized = value.normalize()
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        normalized = normalized.quantize(Decimal(1))
    return normalized


def format_amount(value: Decimal, language: str, currency: str | None = None) -> str:
    """An amount to the cent, half-up: `1 234,50 €` (fr) or `EUR 1,234.50` (en)."""
    return with_currency(_group(f"{round_cents(value):,.2f}", language), language, currency)


def with_currency(text: str, language: str, currency: str | None) -> str:
    if not currency:
        return text
    if language == "fr":
        return f"{text}{NBSP}{_CURRENCY_SYMBOLS_FR.get(currency, currency)}"
    return f"{currency}{NBSP}{text}"


def format_quantity(value: Decimal, language: str) -> str:
    """Its significant decimals only: `135`, `12,5`, `17 254,41`."""
    plain = _plain(value)
    exponent = plain.as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return _group(f"{plain:,.{decimals}f}", language)


def format_price(value: Decimal, language: str) -> str:
    """A unit price: its significant decimals, at least two, at most four (half-up beyond).

    `0,035` per minute stays `0,035`; a prorated `12,603333` reads `12,6033`.
    """
    plain = _plain(value.quantize(Decimal(1).scaleb(-MAX_PRICE_DECIMALS), rounding=ROUND_HALF_UP))
    exponent = plain.as_tuple().exponent
    decimals = max(2, -exponent) if isinstance(exponent, int) else 2
    return _group(f"{plain:,.{decimals}f}", language)


def format_rate(value: Decimal, language: str) -> str:
    return f"{format_quantity(value, language)}{NBSP}%"


def format_date(value: dt.date, language: str) -> str:
    if language == "fr":
        return value.strftime("%d/%m/%Y")
    return f"{value.day} {_MONTHS['en'][value.month - 1][:3]} {value.year}"


def format_period(period: str, language: str) -> str:
    """A billing period `2026-01`: `janvier 2026` / `January 2026`."""
    year, _, month = period.partition("-")
    return f"{_MONTHS[language_of(language)][int(month) - 1]} {year}"


def format_day_range(start: dt.date, end: dt.date, language: str) -> str:
    """The days a line covers: `12/01/2026 – 26/01/2026` / `12 Jan 2026 – 26 Jan 2026`."""
    return f"{format_date(start, language)} – {format_date(end, language)}"


def format_duration(seconds: int) -> str:
    """A call time as h:mm:ss (voice only: data and SMS have volumes, not durations)."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def format_data_volume(megabytes: Decimal, language: str) -> str:
    """Megabytes in the unit a reader expects: `850,5 Mo` below a gigabyte, `17,25 Go` above."""
    small, large = _DATA_UNITS[language_of(language)]
    if abs(megabytes) >= MEGABYTES_PER_GIGABYTE:
        gigabytes = (megabytes / MEGABYTES_PER_GIGABYTE).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return f"{format_quantity(gigabytes, language)}{NBSP}{large}"
    rounded = megabytes.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{format_quantity(rounded, language)}{NBSP}{small}"


def format_proration(
    monthly_price: Decimal, days: int, period_days: int, language: str, currency: str | None = None
) -> str:
    """A prorated subscription as the clerk checks it: `49,90 € × 15/30 jours`."""
    singular, plural = _DAYS[language_of(language)]
    unit = singular if period_days == 1 else plural
    price = with_currency(format_price(monthly_price, language), language, currency)
    return f"{price} × {days}/{period_days}{NBSP}{unit}"
