"""The date-range Excel export (user guide "Excel export"): one row per document, one VAT column per rate.

The VAT rates must be known before the header is written (the file is streamed row by row), so the
layout is built from the rates present in the range (`ExcelLayout.for_rates`); the service asks its read
model for them, or `rates_present` scans an iterable once. Amounts are signed (credit notes negative) and
the totals row sums every row, so it equals the range's net revenue, VAT and gross.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ledgerline_export.domain.cells import Cell
from ledgerline_export.domain.issued_document import IssuedDocument


def rate_label(rate: Decimal) -> str:
    """ "20.00" -> "VAT 20%", "5.50" -> "VAT 5.5%"."""
    text = format(rate.normalize(), "f")
    return f"VAT {text}%"


def rates_present(documents: Iterable[IssuedDocument]) -> list[Decimal]:
    rates: set[Decimal] = set()
    for doc in documents:
        rates.update(v.rate for v in doc.vat)
    return sorted(rates, reverse=True)


class UnknownVatRate(ValueError):
    """A document carries a VAT rate the layout has no column for (the rates were collected wrongly)."""


@dataclass(frozen=True)
class ExcelLayout:
    rates: tuple[Decimal, ...]

    @classmethod
    def for_rates(cls, rates: Iterable[Decimal]) -> ExcelLayout:
        return cls(tuple(sorted({r.normalize() for r in rates}, reverse=True)))

    @property
    def header(self) -> list[str]:
        return [
            "Number",
            "Type",
            "Issue date",
            "Due date",
            "Client code",
            "Client",
            "Net",
            *(rate_label(r) for r in self.rates),
            "VAT total",
            "Gross",
            "Currency",
            "Status",
            "Original invoice",
        ]

    @property
    def amount_columns(self) -> range:
        """Indexes of the numeric columns: Net .. Gross."""
        return range(6, 6 + len(self.rates) + 3)

    def row(self, doc: IssuedDocument) -> list[Cell]:
        by_rate = {r: Decimal("0.00") for r in self.rates}
        for v in doc.vat:
            key = v.rate.normalize()
            if key not in by_rate:
                raise UnknownVatRate(f"{doc.number}: rate {v.rate} not in the layout {self.rates}")
            by_rate[key] += v.tax * doc.sign
        return [
            doc.number,
            doc.type.value,
            doc.issue_date,
            doc.due_date,
            doc.client_code,
            doc.client_name,
            doc.signed_net,
            *by_rate.values(),
            doc.signed_vat_total,
            doc.signed_gross,
            doc.currency,
            doc.status.value,
            doc.original_number,
        ]


@dataclass
class ColumnTotals:
    """Running sums of the amount columns, for the totals row."""

    width: int
    sums: list[Decimal] = field(default_factory=list)
    rows: int = 0

    def __post_init__(self) -> None:
        self.sums = [Decimal("0.00")] * self.width

    def add(self, amounts: Sequence[Cell]) -> None:
        self.rows += 1
        for i, value in enumerate(amounts):
            if isinstance(value, Decimal):
                self.sums[i] += value
