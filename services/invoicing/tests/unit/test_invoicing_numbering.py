import pytest

from ledgerline_invoicing.domain.errors import InvalidNumber
from ledgerline_invoicing.domain.numbering import (
    DEFAULT_PREFIXES,
    Series,
    block_numbers,
    check_prefixes,
    format_number,
)


def test_format():
    assert format_number("F", 2026, 1) == "F2026-000001"
    assert format_number("AV", 2026, 42) == "AV2026-000042"
    assert DEFAULT_PREFIXES == {Series.INVOICE: "F", Series.CREDIT_NOTE: "AV", Series.PROFORMA: "PF"}


def test_a_block_is_gapless_and_ends_where_the_sequence_stands():
    assert block_numbers("F", 2026, 1) == ["F2026-000001"]
    assert block_numbers("F", 2026, 7, 3) == ["F2026-000005", "F2026-000006", "F2026-000007"]
    assert block_numbers("AV", 2026, 999_999)[-1] == "AV2026-999999"


@pytest.mark.parametrize(("last", "count"), [(1_000_000, 1), (1_000_001, 3), (2, 3), (0, 1), (5, 0)])
def test_a_block_past_the_series_or_before_its_start_is_refused(last, count):
    with pytest.raises(InvalidNumber) as error:
        block_numbers("F", 2026, last, count)
    assert error.value.field == "seq"


def test_format_refuses_out_of_range():
    with pytest.raises(InvalidNumber):
        format_number("F", 2026, 0)
    with pytest.raises(InvalidNumber):
        format_number("f", 2026, 1)
    with pytest.raises(InvalidNumber):
        format_number("F", 26, 1)
    with pytest.raises(InvalidNumber):
        format_number("F", 2026, 1_000_000)


def test_prefix_configuration_is_checked():
    assert check_prefixes({Series.INVOICE: "FA", Series.CREDIT_NOTE: "AV", Series.PROFORMA: "PF"})
    with pytest.raises(InvalidNumber):
        check_prefixes({Series.INVOICE: "F", Series.CREDIT_NOTE: "F", Series.PROFORMA: "PF"})
    with pytest.raises(InvalidNumber) as error:
        check_prefixes({Series.INVOICE: "F", Series.CREDIT_NOTE: "AV"})
    assert error.value.field == "prefixes.proforma"
