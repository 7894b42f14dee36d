"""Decimal types used on the wire: amounts travel as strings, never floats."""

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

CENT = Decimal("0.01")


def _no_float(value: object) -> object:
    # A float has already lost the cent; accepting one would hide the bug upstream.
    if isinstance(value, float):
        raise ValueError("amounts must be strings or integers, not floats")
    return value


def _as_str(value: Decimal) -> str:
    return format(value, "f")


def round_cents(value: Decimal) -> Decimal:
    """Half-up to two decimals: the spec's rounding for every amount."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# Any exact decimal (quantities, unit prices with 4+ decimals, rates).
Dec = Annotated[
    Decimal, BeforeValidator(_no_float), PlainSerializer(_as_str, return_type=str, when_used="json")
]
# An amount already rounded to the cent.
Money = Annotated[
    Decimal,
    BeforeValidator(_no_float),
    PlainSerializer(lambda d: _as_str(round_cents(d)), return_type=str, when_used="json"),
]
