"""A document line before it becomes the shared `DocumentLine`: its net is always derived."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ledgerline_invoicing.domain.money import check_vat_rate, line_net
from ledgerline_shared.contracts.document import DocumentLine, LineKind, Proration, UsageKind


@dataclass(frozen=True)
class DraftLine:
    label: str
    quantity: Decimal
    unit_price: Decimal
    vat_rate: Decimal
    kind: LineKind = LineKind.MANUAL
    article_code: str | None = None
    accounting_account: str | None = None
    unit: str = "C62"  # UN/ECE rec 20: C62 one, MON month, MIN minute
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    proration: Proration | None = None  # a subscription covering part of its month
    usage_kind: UsageKind | None = None  # a usage line: what its quantity counts
    # The net, derived once: a run reads it for the line, the VAT breakdown and the totals.
    _net: Decimal = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "vat_rate", check_vat_rate(self.vat_rate))
        object.__setattr__(self, "_net", line_net(self.quantity, self.unit_price))

    @property
    def net_amount(self) -> Decimal:
        return self._net

    def to_document_line(self, line_no: int) -> DocumentLine:
        return DocumentLine(
            line_no=line_no,
            label=self.label,
            kind=self.kind,
            article_code=self.article_code,
            quantity=self.quantity,
            unit=self.unit,
            unit_price=self.unit_price,
            net_amount=self.net_amount,
            vat_rate=self.vat_rate,
            accounting_account=self.accounting_account,
            period_start=self.period_start,
            period_end=self.period_end,
            proration=self.proration,
            usage_kind=self.usage_kind,
        )


def to_document_lines(lines: Sequence[DraftLine]) -> list[DocumentLine]:
    """Numbered from 1 in the given order."""
    return [line.to_document_line(no) for no, line in enumerate(lines, start=1)]


def from_document_line(line: DocumentLine) -> DraftLine:
    return DraftLine(
        label=line.label,
        quantity=line.quantity,
        unit_price=line.unit_price,
        vat_rate=line.vat_rate,
        kind=line.kind,
        article_code=line.article_code,
        accounting_account=line.accounting_account,
        unit=line.unit,
        period_start=line.period_start,
        period_end=line.period_end,
        proration=line.proration,
        usage_kind=line.usage_kind,
    )
