"""Amounts and dates for the screen: French by default (1 234,56 €), Decimal all the way."""

from decimal import Decimal

from ledgerline_backoffice.domain.formatting import (
    format_date,
    format_datetime,
    format_duration,
    format_money,
    format_quantity,
    format_rate,
    format_unit_price,
    parse_amount,
)

S = "\u00a0"  # the no-break space that keeps an amount on one line


def test_french_amounts() -> None:
    assert format_money("1234.56") == f"1{S}234,56{S}€"
    assert format_money("0") == f"0,00{S}€"
    assert format_money("-50") == f"-50,00{S}€"
    assert format_money("1234567.8") == f"1{S}234{S}567,80{S}€"
    assert format_money(Decimal("999.999")) == f"1{S}000,00{S}€"


def test_rounding_is_half_up_not_bankers() -> None:
    assert format_money("0.005") == f"0,01{S}€"
    assert format_money("0.015") == f"0,02{S}€"
    assert format_money("-0.005") == f"-0,01{S}€"


def test_english_and_other_currencies() -> None:
    assert format_money("1234.5", "EUR", "en") == "€1,234.50"
    assert format_money("-3", "GBP", "en") == "-£3.00"
    assert format_money("10", "CHF", "fr") == f"10,00{S}CHF"
    assert format_money("10", "SEK", "en") == f"10.00{S}SEK"


def test_missing_or_bad_values_show_nothing() -> None:
    assert format_money(None) == ""
    assert format_money("abc") == ""
    assert format_quantity("") == ""


def test_quantities_and_rates() -> None:
    assert format_quantity("3.0000") == "3"
    assert format_quantity("1.5") == "1,5"
    assert format_quantity("1234") == f"1{S}234"
    assert format_rate("20.00") == f"20{S}%"
    assert format_rate("5.5", "en") == "5.5%"


def test_dates() -> None:
    assert format_date("2026-11-30") == "30/11/2026"
    assert format_date("2026-11-30", "en") == "2026-11-30"
    assert format_datetime("2026-11-30T23:30:00+01:00") == "30/11/2026 22:30 UTC"
    assert format_date(None) == ""


def test_durations() -> None:
    assert format_duration(65) == "1:05"
    assert format_duration(3725) == "1:02:05"
    assert format_duration(None) == ""


def test_typed_amounts() -> None:
    assert parse_amount("-50,00") == Decimal("-50.00")
    assert parse_amount("1 234.5") == Decimal("1234.5")
    assert parse_amount(f"1{S}234,5 €") == Decimal("1234.5")
    assert parse_amount("abc") is None
    assert parse_amount("NaN") is None


def test_unit_prices_keep_their_precision() -> None:
    assert format_unit_price("0.0151") == f"0,0151{S}€"
    assert format_unit_price("19.90") == f"19,90{S}€"
    assert format_unit_price("-50") == f"-50,00{S}€"
    assert format_unit_price("0.12345678") == f"0,123457{S}€"
