"""Amounts and dates for the screen: French by default (1 234,56 €), Decimal all the way."""

from decimal import Decimal

from ledgerline_backoffice.domain.formatting import (
    format_date,
    format_datetime,
    format_duration,
    format_money,
    format_proration,
    format_quantity,
    format_rate,
    format_unit_price,
    line_unit,
    parse_amount,
)

S = "\u00a0"  # the no-break space that keeps an amount on one line
N = "\u202f"  # French thousands: the narrow no-break space the PDF and the e-mail print too


def test_french_amounts() -> None:
    assert format_money("1234.56") == f"1{N}234,56{S}€"
    assert format_money("0") == f"0,00{S}€"
    assert format_money("-50") == f"-50,00{S}€"
    assert format_money("1234567.8") == f"1{N}234{N}567,80{S}€"
    assert format_money(Decimal("999.999")) == f"1{N}000,00{S}€"


def test_rounding_is_half_up_not_bankers() -> None:
    assert format_money("0.005") == f"0,01{S}€"
    assert format_money("0.015") == f"0,02{S}€"
    assert format_money("-0.005") == f"-0,01{S}€"


def test_english_and_other_currencies() -> None:
    assert format_money("1234.5", "EUR", "en") == f"EUR{S}1,234.50"
    assert format_money("-3", "GBP", "en") == f"GBP{S}-3.00"
    assert format_money("10", "CHF", "fr") == f"10,00{S}CHF"
    assert format_money("10", "SEK", "en-GB") == f"SEK{S}10.00"


def test_missing_or_bad_values_show_nothing() -> None:
    assert format_money(None) == ""
    assert format_money("abc") == ""
    assert format_quantity("") == ""


def test_quantities_and_rates() -> None:
    assert format_quantity("3.0000") == "3"
    assert format_quantity("1.5") == "1,5"
    assert format_quantity("1234") == f"1{N}234"
    assert format_rate("20.00") == f"20{S}%"
    assert format_rate("5.5", "en") == f"5.5{S}%"
    assert format_rate("Infinity") == ""


def test_dates() -> None:
    assert format_date("2026-11-30") == "30/11/2026"
    assert format_date("2026-11-30", "en") == "30 Nov 2026"
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
    # Never more than 4 decimals (half-up), as on the PDF: a prorated 12,603333 reads 12,6033.
    assert format_unit_price("12.603333") == f"12,6033{S}€"
    assert format_unit_price("0.12345678") == f"0,1235{S}€"
    assert format_unit_price("0.035000") == f"0,035{S}€"


def test_a_prorated_line_reads_as_the_pdf_prints_it() -> None:
    proration = {"monthly_price": "49.90", "days": 15, "period_days": 30}
    assert format_proration(proration) == f"49,90{S}€ × 15/30{S}jours"
    assert format_proration(proration, "EUR", "en") == f"EUR{S}49.90 × 15/30{S}days"
    assert format_proration(None) == ""
    assert format_proration({"monthly_price": "x", "days": 15, "period_days": 30}) == ""


def test_usage_lines_carry_their_unit() -> None:
    assert line_unit({"usage_kind": "voice", "unit": "MIN"}) == "min"
    assert line_unit({"usage_kind": "voice", "unit": "C62"}) == "appels"
    assert line_unit({"usage_kind": "voice", "unit": "C62"}, "en") == "calls"
    assert line_unit({"usage_kind": "sms", "unit": "C62"}) == "SMS"
    assert line_unit({"usage_kind": "data", "unit": "4L"}) == "Mo"
    assert line_unit({"usage_kind": "data", "unit": "4L"}, "en") == "MB"
    assert line_unit({"usage_kind": None, "unit": "MON"}) == ""
