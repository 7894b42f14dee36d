import pytest

from ledgerline_invoicing.domain.errors import InvalidNumber
from ledgerline_invoicing.domain.numbering import (
    DEFAULT_PREFIXES,
    DocumentNumber,
    Series,
    check_prefixes,
    format_number,
    next_number,
    parse_number,
    series_of,
)


def test_format_and_parse_round_trip():
    assert format_number("F", 2026, 1) == "F2026-000001"
    assert format_number("AV", 2026, 42) == "AV2026-000042"
    assert parse_number("PF2027-123456") == DocumentNumber("PF", 2027, 123456)
    assert str(parse_number("AV2026-000042")) == "AV2026-000042"


def test_default_prefixes_and_series_lookup():
    assert DEFAULT_PREFIXES == {Series.INVOICE: "F", Series.CREDIT_NOTE: "AV", Series.PROFORMA: "PF"}
    assert series_of("AV2026-000001") is Series.CREDIT_NOTE
    assert series_of("F2026-000001") is Series.INVOICE
    with pytest.raises(InvalidNumber):
        series_of("X2026-000001")


def test_next_number_is_gapless():
    assert next_number(None) == 1
    assert next_number(0) == 1
    assert next_number(41) == 42
    with pytest.raises(InvalidNumber):
        next_number(999_999)
    with pytest.raises(InvalidNumber):
        next_number(-1)


@pytest.mark.parametrize("bad", ["F2026-1", "f2026-000001", "F26-000001", "F2026-000000", "2026-000001", ""])
def test_malformed_numbers_are_refused(bad):
    with pytest.raises(InvalidNumber) as error:
        parse_number(bad)
    assert error.value.field == "number"


def test_format_refuses_out_of_range():
    with pytest.raises(InvalidNumber):
        format_number("F", 2026, 0)
    with pytest.raises(InvalidNumber):
        format_number("f", 2026, 1)
    with pytest.raises(InvalidNumber):
        format_number("F", 26, 1)


def test_prefix_configuration_is_checked():
    assert check_prefixes({Series.INVOICE: "FA", Series.CREDIT_NOTE: "AV", Series.PROFORMA: "PF"})
    with pytest.raises(InvalidNumber):
        check_prefixes({Series.INVOICE: "F", Series.CREDIT_NOTE: "F", Series.PROFORMA: "PF"})
    with pytest.raises(InvalidNumber) as error:
        check_prefixes({Series.INVOICE: "F", Series.CREDIT_NOTE: "AV"})
    assert error.value.field == "prefixes.proforma"
