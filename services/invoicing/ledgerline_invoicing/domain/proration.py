"""Day-based proration of a monthly amount, additive by construction.

A segment covering days d1..d2 (inclusive) of a month of D days is worth
    round(M * d2 / D) - round(M * (d1 - 1) / D)
i.e. the difference of the rounded cumulative amounts at its two ends. However the month is cut
into consecutive segments the differences telescope, so the pieces sum exactly to round(M) = M:
a client moved between subscriptions mid-month is never billed a cent more or less than M.
Rounding is half-up to the precision of M itself, at least the cent and at most four decimals, so a
unit price with four decimals is prorated on four decimals and a full month always gives back
exactly M. M's precision is that of its significant digits: a price read back from a scale-6 column
(49.900000) is a cent price, and its prorated share reads 24.95, not 24.950000 or 12.603333.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from ledgerline_invoicing.domain.errors import InvalidPeriod
from ledgerline_invoicing.domain.period import BillingPeriod

MAX_DECIMALS = 4  # a unit price prints at most four decimals: the document must show the real one


def covered_days(
    period: BillingPeriod, start_date: dt.date, end_date: dt.date | None
) -> tuple[int, int] | None:
    """First and last day of the month covered by [start_date, end_date] (both inclusive;
    no end date = still running), or None when the subscription does not touch the month."""
    if end_date is not None and end_date < start_date:
        raise InvalidPeriod("end_date", f"end date {end_date} is before start date {start_date}")
    first = max(start_date, period.first_day)
    last = period.last_day if end_date is None else min(end_date, period.last_day)
    if first > last:
        return None
    return first.day, last.day


def prorate(
    monthly_amount: Decimal,
    period: BillingPeriod | tuple[int, int],
    start_date: dt.date,
    end_date: dt.date | None,
) -> Decimal:
    """The share of `monthly_amount` for the days of `period` covered by start..end (inclusive)."""
    month = period if isinstance(period, BillingPeriod) else BillingPeriod(*period)
    days = covered_days(month, start_date, end_date)
    if days is None:
        return Decimal(0).quantize(_quantum(monthly_amount))
    first, last = days
    if first == 1 and last == month.days:
        return monthly_amount
    return _cumulative(monthly_amount, last, month.days) - _cumulative(monthly_amount, first - 1, month.days)


def _quantum(amount: Decimal) -> Decimal:
    if not amount.is_finite():
        raise InvalidPeriod("monthly_amount", "must be a finite number")
    exponent = amount.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    return Decimal(1).scaleb(min(-2, max(exponent, -MAX_DECIMALS)))


def _cumulative(amount: Decimal, day: int, days: int) -> Decimal:
    return (amount * day / days).quantize(_quantum(amount), rounding=ROUND_HALF_UP)
