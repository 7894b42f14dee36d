"""How amounts and prices read on a document."""

from decimal import Decimal

import pytest

from ledgerline_rendering.domain.formatting import format_price


@pytest.mark.parametrize(
    ("value", "language", "shown"),
    [
        ("7.500000", "en", "7.50"),  # a scale-6 database column: trailing zeros go
        ("0.035000", "fr", "0,035"),
        ("10", "en", "10.00"),
        ("1E+1", "en", "10.00"),
        ("-50.00", "fr", "-50,00"),
        ("0.0125", "en", "0.0125"),
    ],
)
def test_unit_prices_show_significant_decimals_never_fewer_than_two(
    value: str, language: str, shown: str
) -> None:
    assert format_price(Decimal(value), language) == shown
