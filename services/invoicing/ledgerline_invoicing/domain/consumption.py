"""From rated calls to invoice lines and the consumption summary of a telecom invoice.

One group per destination: (kind, label, unit price). Its invoice line follows spec section 4
like every other line, net = quantity x unit price rounded half-up to the cent, with
- voice: quantity = billable minutes (sum of billable seconds / 60; exact, or half-up to 4
  decimals when the seconds are not a multiple of 3, e.g. "1/1" increments), unit MIN, unit price
  per minute. Connection fees go on a separate line of the same destination (quantity = connected
  calls, unit price = the fee), so that each line reads as quantity x price.
- sms: quantity = messages; data: quantity = megabytes (UN/ECE 4L).
Why not add the 4-decimal per-call costs: that sum drifts from quantity x price by up to 0.00005
per call, and a line whose net is not its quantity x price breaks section 4. Pricing the group's
total quantity once is also the more exact figure. The per-call costs stay in the call detail.
The summary's amount of a destination is the sum of its lines' nets, so the summary and the
lines of one document always agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from ledgerline_invoicing.domain.lines import DraftLine
from ledgerline_invoicing.domain.rating import SECONDS_PER_MINUTE, RatedCall
from ledgerline_shared.contracts.document import ConsumptionLine, LineKind
from ledgerline_shared.contracts.events import CallKind

QUANTITY_QUANTUM = Decimal("0.0001")
UNIT_CODES = {CallKind.VOICE: "MIN", CallKind.SMS: "C62", CallKind.DATA: "4L"}


@dataclass(frozen=True)
class UsageTaxation:
    """The catalog's usage article that usage lines are booked under (VAT rate, account)."""

    vat_rate: Decimal
    article_code: str | None = None
    accounting_account: str | None = None


@dataclass(frozen=True)
class UsageBilling:
    lines: list[DraftLine]
    summary: list[ConsumptionLine]


@dataclass
class _Group:
    count: int = 0
    duration_s: int = 0
    billable_s: int = 0
    units: Decimal = Decimal(0)
    connected_by_fee: dict[Decimal, int] = field(default_factory=dict)


def billable_minutes(billable_s: int) -> Decimal:
    minutes = Decimal(billable_s) / SECONDS_PER_MINUTE
    if billable_s % 3 == 0:
        return minutes  # a whole number of 1/20 minutes: exact in two decimals
    return minutes.quantize(QUANTITY_QUANTUM, rounding=ROUND_HALF_UP)


def bill_usage(
    calls: Iterable[RatedCall],
    taxation: UsageTaxation,
    connection_fee_label: str = "{label} - connection fees",
) -> UsageBilling:
    """Invoice lines and summary of the rated calls of one client and period, in a stable order
    (kind voice, sms, data; then label; then unit price)."""
    groups: dict[tuple[CallKind, str, Decimal], _Group] = {}
    for call in calls:
        group = groups.setdefault((call.kind, call.label, call.unit_price), _Group())
        group.count += 1
        group.duration_s += call.duration_s
        group.billable_s += call.billable_s
        group.units += call.units
        if call.connection_fee > 0:
            # Two rules may share label and price but not fee: one fee line per distinct fee.
            fees = group.connected_by_fee
            fees[call.connection_fee] = fees.get(call.connection_fee, 0) + 1

    kind_order = list(CallKind)
    lines: list[DraftLine] = []
    summary: dict[tuple[CallKind, str], _Summary] = {}
    for (kind, label, price), group in sorted(
        groups.items(), key=lambda item: (kind_order.index(item[0][0]), item[0][1], item[0][2])
    ):
        quantity = billable_minutes(group.billable_s) if kind is CallKind.VOICE else group.units
        destination_lines = [_usage_line(label, quantity, price, kind, taxation)]
        for fee, connected in sorted(group.connected_by_fee.items()):
            fee_label = connection_fee_label.format(label=label)
            destination_lines.append(
                _usage_line(fee_label, Decimal(connected), fee, kind, taxation, connection_fee=True)
            )
        lines.extend(destination_lines)
        entry = summary.setdefault((kind, label), _Summary())
        entry.count += group.count
        entry.duration_s += group.duration_s
        entry.units += group.units
        entry.amount += sum((line.net_amount for line in destination_lines), Decimal("0.00"))

    return UsageBilling(
        lines=lines,
        summary=[
            ConsumptionLine(
                label=label,
                kind=kind.value,
                count=entry.count,
                duration_s=entry.duration_s,
                units=None if kind is CallKind.VOICE else entry.units,
                amount=entry.amount,
            )
            for (kind, label), entry in summary.items()
        ],
    )


@dataclass
class _Summary:
    count: int = 0
    duration_s: int = 0
    units: Decimal = Decimal(0)
    amount: Decimal = Decimal("0.00")


def _usage_line(
    label: str,
    quantity: Decimal,
    price: Decimal,
    kind: CallKind,
    taxation: UsageTaxation,
    *,
    connection_fee: bool = False,
) -> DraftLine:
    """A connection-fee line counts connected calls (unit C62) of its destination's kind."""
    return DraftLine(
        label=label,
        quantity=quantity,
        unit_price=price,
        vat_rate=taxation.vat_rate,
        kind=LineKind.USAGE,
        article_code=taxation.article_code,
        accounting_account=taxation.accounting_account,
        unit="C62" if connection_fee else UNIT_CODES[kind],
        usage_kind=kind.value,
    )
