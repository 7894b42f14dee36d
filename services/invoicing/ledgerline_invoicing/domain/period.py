"""The monthly billing period "YYYY-MM"."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from ledgerline_invoicing.domain.errors import InvalidPeriod


@dataclass(frozen=True, order=True)
class BillingPeriod:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1000 <= self.year <= 9999:
            raise InvalidPeriod("period", f"no such month: {self.year}-{self.month}")

    @classmethod
    def parse(cls, text: str) -> BillingPeriod:
        match = re.fullmatch(r"(\d{4})-(\d{2})", text)
        if match is None:
            raise InvalidPeriod("period", f"expected YYYY-MM, got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.month, self.days)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"
