"""The one formatting module the PDF and the e-mail share: what a figure reads like, per language."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ledgerline_shared.formatting import (
    format_amount,
    format_data_volume,
    format_date,
    format_period,
    format_price,
    format_proration,
    format_quantity,
    language_of,
)


def plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")


@pytest.mark.parametrize(
    ("value", "language", "currency", "shown"),
    [
        ("1234.5", "fr", "EUR", "1 234,50 €"),
        ("1234.5", "en", "EUR", "EUR 1,234.50"),
        ("-25", "fr", "EUR", "-25,00 €"),
        ("0.005", "fr", "USD", "0,01 USD"),  # half-up to the cent
        ("1000000", "en", None, "1,000,000.00"),
    ],
)
def test_amounts_to_the_cent(value: str, language: str, currency: str | None, shown: str) -> None:
    assert plain(format_amount(Decimal(value), language, currency)) == shown


@pytest.mark.parametrize(
    ("value", "language", "shown"),
    [
        ("7.500000", "en", "7.50"),  # a scale-6 database column: trailing zeros go
        ("0.035000", "fr", "0,035"),
        ("10", "en", "10.00"),
        ("1E+1", "en", "10.00"),
        ("-50.00", "fr", "-50,00"),
        ("0.0125", "en", "0.0125"),
        ("12.603333", "fr", "12,6033"),  # never more than four decimals
        ("0.00005", "en", "0.0001"),  # half-up at the fourth
    ],
)
def test_unit_prices_show_significant_decimals_between_two_and_four(
    value: str, language: str, shown: str
) -> None:
    assert format_price(Decimal(value), language) == shown


def test_quantities_dates_periods_volumes_and_prorations() -> None:
    assert plain(format_quantity(Decimal("17254.4100"), "fr")) == "17 254,41"
    assert format_quantity(Decimal("1E+1"), "en") == "10"
    assert format_date(dt.date(2026, 3, 2), "fr") == "02/03/2026"
    assert format_date(dt.date(2026, 3, 2), "en") == "2 Mar 2026"
    assert (format_period("2026-08", "fr"), format_period("2026-08", "en")) == ("août 2026", "August 2026")
    assert plain(format_data_volume(Decimal("17254.41"), "fr")) == "17,25 Go"
    assert plain(format_data_volume(Decimal("850.5"), "en")) == "850.5 MB"
    assert plain(format_proration(Decimal("49.900000"), 15, 30, "fr", "EUR")) == "49,90 € × 15/30 jours"
    assert plain(format_proration(Decimal("49.90"), 15, 30, "en", "EUR")) == "EUR 49.90 × 15/30 days"


@pytest.mark.parametrize(
    ("given", "used"), [("en-GB", "en"), ("EN", "en"), ("de", "fr"), ("", "fr"), (None, "fr")]
)
def test_a_language_we_do_not_write_falls_back_to_french(given: str | None, used: str) -> None:
    assert language_of(given) == used
