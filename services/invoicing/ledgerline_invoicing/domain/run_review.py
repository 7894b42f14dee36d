"""Review by exception of a preview run (issue 15): the anomaly flags of each preview.

Each flag has a stable code, one sentence (worded here only) and the figures behind it, all in the
preview's currency. Amounts compared are gross totals (what the client pays); usage is the net of the
usage lines. The client's history is its issued invoices of earlier periods, newest first: credit
notes and proformas are not invoices, so a client with only those is a new client. Figures in another
currency than the preview's are never compared (no exchange rate is billing data): a client whose
currency changed gets neither a total-change nor a usage flag against those invoices.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from ledgerline_invoicing.domain.period import BillingPeriod

CENT = Decimal("0.01")


class FlagCode(StrEnum):
    TOTAL_CHANGE = "total_change"
    USAGE_SPIKE = "usage_spike"
    NO_CALL_RECORDS = "no_call_records"
    NON_POSITIVE_TOTAL = "non_positive_total"
    NO_INVOICE_RECIPIENT = "no_invoice_recipient"
    UNRATED_CALL_RECORDS = "unrated_call_records"
    EVERY_CYCLE_CREDIT = "every_cycle_credit"
    LARGE_FIRST_INVOICE = "large_first_invoice"


# The one place a flag is worded; the figures fill it in.
SENTENCES: Mapping[FlagCode, str] = {
    FlagCode.TOTAL_CHANGE: (
        "The total of {total} {currency} differs by {change} {currency} ({change_percent} %) from the "
        "last invoice {previous_number} of {previous_total} {currency}."
    ),
    FlagCode.USAGE_SPIKE: (
        "Usage charges of {usage} {currency} are over {multiple} times the average of the last "
        "{cycles} cycles ({average} {currency})."
    ),
    FlagCode.NO_CALL_RECORDS: (
        "{subscriptions} active subscription(s) but no call records for {period}: a mediation feed "
        "may be missing."
    ),
    FlagCode.NON_POSITIVE_TOTAL: "The total is {total} {currency}: an invoice of zero or less.",
    FlagCode.NO_INVOICE_RECIPIENT: (
        "No contact is flagged as invoice recipient: the invoice cannot be e-mailed."
    ),
    FlagCode.UNRATED_CALL_RECORDS: (
        "{unrated} call record(s) of this client are kept unrated and will not be billed."
    ),
    FlagCode.EVERY_CYCLE_CREDIT: (
        "{items} credit item(s) of {credit} {currency} repeat every cycle: the credit will be billed "
        "again next period unless deactivated."
    ),
    FlagCode.LARGE_FIRST_INVOICE: (
        "A first invoice of {total} {currency}, above the {threshold} {currency} threshold for a new client."
    ),
}

# An e-mail that cannot be sent is reported by notification; the invoice itself is right.
DEFAULT_BLOCKING = frozenset(FlagCode) - {FlagCode.NO_INVOICE_RECIPIENT}


@dataclass(frozen=True)
class ReviewThresholds:
    total_change_share: Decimal = Decimal("0.30")
    total_change_amount: Decimal = Decimal("20.00")
    usage_multiple: Decimal = Decimal("3")
    usage_cycles: int = 3
    first_invoice_amount: Decimal = Decimal("500.00")
    blocking: frozenset[FlagCode] = DEFAULT_BLOCKING


@dataclass(frozen=True)
class PastInvoice:
    """One of the client's issued invoices, as the review reads it."""

    number: str
    period: str
    currency: str
    gross_total: Decimal
    usage_net: Decimal


@dataclass(frozen=True)
class PreviewFacts:
    """A preview and what the review needs to know of its client's folder this period."""

    document_id: str
    client_id: str
    client_code: str
    client_name: str
    period: str
    currency: str
    gross_total: Decimal
    usage_net: Decimal
    active_subscriptions: int = 0
    call_records: int = 0  # of the period, billed or not
    unrated_call_records: int = 0  # kept unrated, so left out of the preview
    invoice_recipients: int = 0
    every_cycle_credits: tuple[Decimal, ...] = ()  # net amounts of credit items repeated each cycle


@dataclass(frozen=True)
class Flag:
    code: FlagCode
    figures: Mapping[str, str]
    impact: Decimal  # the money at stake, to sort previews by
    blocking: bool

    @property
    def sentence(self) -> str:
        return SENTENCES[self.code].format(**self.figures)


@dataclass(frozen=True)
class PreviewReview:
    facts: PreviewFacts
    flags: tuple[Flag, ...]
    last_invoice: PastInvoice | None = None  # to open beside the preview

    @property
    def impact(self) -> Decimal:
        return max((f.impact for f in self.flags), default=Decimal("0.00"))


def _amount(value: Decimal) -> str:
    return f"{value.quantize(CENT):f}"


def flag_preview(
    facts: PreviewFacts, history: Sequence[PastInvoice], thresholds: ReviewThresholds
) -> PreviewReview:
    """Every flag the preview trips. `history`: the client's invoices of earlier periods, newest first."""
    money = {"currency": facts.currency, "total": _amount(facts.gross_total)}
    at_stake = abs(facts.gross_total)
    found: list[tuple[FlagCode, dict[str, str], Decimal]] = []
    comparable = [p for p in history if p.currency == facts.currency]
    last = history[0] if history else None

    if last is not None and last.currency == facts.currency:
        change = facts.gross_total - last.gross_total
        # Against a zero (or credit-only) last total the share is unbounded: the amount decides.
        share = abs(change) / abs(last.gross_total) if last.gross_total else None
        if abs(change) > thresholds.total_change_amount and (
            share is None or share > thresholds.total_change_share
        ):
            percent = "n/a" if share is None else f"{(share * 100).quantize(Decimal('0.1')):f}"
            found.append(
                (
                    FlagCode.TOTAL_CHANGE,
                    money
                    | {
                        "change": _amount(change),
                        "change_percent": percent,
                        "previous_number": last.number,
                        "previous_period": last.period,
                        "previous_total": _amount(last.gross_total),
                    },
                    abs(change),
                )
            )

    cycles = comparable[: thresholds.usage_cycles]
    if cycles and facts.usage_net > 0:
        average = sum((p.usage_net for p in cycles), Decimal("0")) / len(cycles)
        if facts.usage_net > thresholds.usage_multiple * average:
            found.append(
                (
                    FlagCode.USAGE_SPIKE,
                    money
                    | {
                        "usage": _amount(facts.usage_net),
                        "average": _amount(average),
                        "multiple": f"{thresholds.usage_multiple:f}",
                        "cycles": str(len(cycles)),
                    },
                    facts.usage_net - average,
                )
            )

    if facts.active_subscriptions and not facts.call_records:
        found.append(
            (
                FlagCode.NO_CALL_RECORDS,
                {"subscriptions": str(facts.active_subscriptions), "period": facts.period},
                at_stake,
            )
        )

    if facts.gross_total <= 0:
        found.append((FlagCode.NON_POSITIVE_TOTAL, money, at_stake))

    if not facts.invoice_recipients:
        found.append((FlagCode.NO_INVOICE_RECIPIENT, {}, at_stake))

    if facts.unrated_call_records:
        found.append((FlagCode.UNRATED_CALL_RECORDS, {"unrated": str(facts.unrated_call_records)}, at_stake))

    if facts.every_cycle_credits:
        credit = sum(facts.every_cycle_credits, Decimal("0"))
        found.append(
            (
                FlagCode.EVERY_CYCLE_CREDIT,
                money | {"items": str(len(facts.every_cycle_credits)), "credit": _amount(credit)},
                abs(credit),
            )
        )

    if not history and facts.gross_total > thresholds.first_invoice_amount:
        found.append(
            (
                FlagCode.LARGE_FIRST_INVOICE,
                money | {"threshold": _amount(thresholds.first_invoice_amount)},
                facts.gross_total,
            )
        )

    flags = tuple(
        Flag(code, figures, impact.quantize(CENT), code in thresholds.blocking)
        for code, figures, impact in found
    )
    return PreviewReview(facts, flags, last)


# -- the run's report ------------------------------------------------------------------------------
@dataclass(frozen=True)
class LineAmount:
    """A document line as the comparison of totals reads it."""

    currency: str
    family: str  # the line kind: recurring, one_time, usage, credit_note, manual
    vat_rate: Decimal
    net: Decimal


@dataclass(frozen=True)
class FamilyTotal:
    currency: str
    family: str
    vat_rate: Decimal
    current: Decimal
    previous: Decimal

    @property
    def change(self) -> Decimal:
        return self.current - self.previous

    @property
    def change_share(self) -> Decimal | None:
        return self.change / abs(self.previous) if self.previous else None


@dataclass(frozen=True)
class RunReview:
    previews: tuple[PreviewReview, ...]
    totals: tuple[FamilyTotal, ...] = field(default=())
    previous_run_id: str | None = None  # the previous period's last production run, if any

    @property
    def counts(self) -> dict[FlagCode, int]:
        """Previews carrying each flag, every code present (zero included)."""
        counts = dict.fromkeys(FlagCode, 0)
        for review in self.previews:
            for code in {f.code for f in review.flags}:
                counts[code] += 1
        return counts

    @property
    def flagged(self) -> list[PreviewReview]:
        """The previews with at least one flag, the largest money at stake first."""
        return sorted(
            (r for r in self.previews if r.flags),
            key=lambda r: (-r.impact, -len(r.flags), r.facts.client_code),
        )

    @property
    def blocking_codes(self) -> frozenset[FlagCode]:
        return frozenset(f.code for r in self.previews for f in r.flags if f.blocking)


def compare_totals(current: Iterable[LineAmount], previous: Iterable[LineAmount]) -> tuple[FamilyTotal, ...]:
    """Net sums per currency, article family and VAT rate, this run against the previous period's."""
    sums: dict[tuple[str, str, Decimal], list[Decimal]] = {}
    for index, lines in enumerate((current, previous)):
        for line in lines:
            key = (line.currency, line.family, line.vat_rate)
            sums.setdefault(key, [Decimal("0.00"), Decimal("0.00")])[index] += line.net
    return tuple(
        FamilyTotal(currency, family, rate, now, before)
        for (currency, family, rate), (now, before) in sorted(sums.items())
    )


def previous_period(period: BillingPeriod) -> BillingPeriod:
    if period.month == 1:
        return BillingPeriod(period.year - 1, 12)
    return BillingPeriod(period.year, period.month - 1)
