import datetime as dt
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgerline_invoicing.domain.errors import InvalidPeriod
from ledgerline_invoicing.domain.period import BillingPeriod
from ledgerline_invoicing.domain.proration import prorate


def test_full_month_is_exactly_the_monthly_amount():
    assert prorate(D("29.99"), (2026, 2), dt.date(2025, 1, 1), None) == D("29.99")
    assert prorate(D("9.9999"), (2026, 3), dt.date(2026, 3, 1), dt.date(2026, 3, 31)) == D("9.9999")


def test_half_of_a_30_day_month():
    assert prorate(D("30.00"), (2026, 4), dt.date(2026, 4, 16), None) == D("15.00")
    assert prorate(D("30.00"), (2026, 4), dt.date(2026, 4, 1), dt.date(2026, 4, 15)) == D("15.00")


def test_cumulative_rounding_values():
    # 10.00 over 31 days, days 1..10: round(100/31 = 3.2258) = 3.23; days 11..20: round(6.4516) - 3.23
    month = (2026, 1)
    assert prorate(D("10.00"), month, dt.date(2026, 1, 1), dt.date(2026, 1, 10)) == D("3.23")
    assert prorate(D("10.00"), month, dt.date(2026, 1, 11), dt.date(2026, 1, 20)) == D("3.22")
    assert prorate(D("10.00"), month, dt.date(2026, 1, 21), dt.date(2026, 1, 31)) == D("3.55")


def test_outside_the_month_is_zero():
    assert prorate(D("10.00"), (2026, 1), dt.date(2026, 2, 1), None) == 0
    assert prorate(D("10.00"), (2026, 1), dt.date(2025, 1, 1), dt.date(2025, 12, 31)) == 0


def test_end_before_start_is_refused():
    with pytest.raises(InvalidPeriod) as error:
        prorate(D("10.00"), (2026, 1), dt.date(2026, 1, 10), dt.date(2026, 1, 9))
    assert error.value.field == "end_date"


def test_bad_periods_are_refused():
    with pytest.raises(InvalidPeriod):
        BillingPeriod.parse("2026-13")
    with pytest.raises(InvalidPeriod):
        BillingPeriod.parse("2026-1")
    assert BillingPeriod.parse("2024-02").days == 29


@given(
    amount=st.decimals(min_value=D("0"), max_value=D("100000"), places=2),
    year=st.integers(2000, 2100),
    month=st.integers(1, 12),
    cuts=st.lists(st.integers(1, 30), max_size=10),
)
def test_any_split_of_a_month_sums_to_the_monthly_amount(amount, year, month, cuts):
    period = BillingPeriod(year, month)
    starts = sorted({1} | {c + 1 for c in cuts if c < period.days})
    ends = [s - 1 for s in starts[1:]] + [period.days]
    pieces = [
        prorate(amount, period, dt.date(year, month, s), dt.date(year, month, e))
        for s, e in zip(starts, ends, strict=True)
    ]
    assert sum(pieces, D(0)) == amount
    assert all(p >= 0 for p in pieces)


@given(
    amount=st.decimals(min_value=D("0"), max_value=D("1000"), places=4),
    day=st.integers(1, 28),
)
def test_two_segments_of_a_four_decimal_price_sum_exactly(amount, day):
    period = BillingPeriod(2026, 2)
    first = prorate(amount, period, dt.date(2026, 2, 1), dt.date(2026, 2, day))
    second = prorate(amount, period, dt.date(2026, 2, day + 1), None) if day < 28 else D(0)
    assert first + second == amount
