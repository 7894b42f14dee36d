"""The invoice of one client for one monthly period, before numbering.

Sources, in line order: subscriptions (recurring articles, prorated by day when the period is only
partly covered), one-time items of the client folder, then usage (rated calls per destination,
see `consumption`). An invoice without lines means there is nothing to bill for that client.

- A subscription covering part of the month is billed at its prorated unit price (see
  `proration`), quantity unchanged, so the line still reads quantity x unit price and the pieces
  of a month split between subscriptions add up to the monthly price. The line keeps the monthly
  price and the covered days, so the document can print "49,90 € × 15/30 days".
- One-time items: inactive ones are skipped; every active one is billed; those with repeat=once
  are reported as consumed so the production run deactivates them and records the invoice.
- A negative amount is allowed only on a credit_note article (spec section 5); a quantity is
  always positive, the sign of a credit goes on its unit price ("-50.00").
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from ledgerline_invoicing.domain.articles import (
    ArticleKind,
    ArticlePlace,
    check_article_place,
    check_sign,
)
from ledgerline_invoicing.domain.consumption import UsageTaxation, bill_usage
from ledgerline_invoicing.domain.errors import InvalidBillingItem
from ledgerline_invoicing.domain.lines import DraftLine, to_document_lines
from ledgerline_invoicing.domain.money import check_vat_rate, document_totals, line_net, tax_breakdown
from ledgerline_invoicing.domain.period import BillingPeriod
from ledgerline_invoicing.domain.proration import covered_days, prorate
from ledgerline_invoicing.domain.rating import RatedCall
from ledgerline_shared.contracts.document import (
    ConsumptionLine,
    Document,
    DocumentType,
    LineKind,
    Party,
    Proration,
    TaxSubtotal,
    Totals,
)


class Repeat(StrEnum):
    ONCE = "once"
    EVERY_CYCLE = "every_cycle"


@dataclass(frozen=True)
class Article:
    code: str
    label: str
    kind: ArticleKind
    unit_price: Decimal
    vat_rate: Decimal
    accounting_account: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ArticleKind(self.kind))
        object.__setattr__(self, "vat_rate", check_vat_rate(self.vat_rate))
        check_sign(self.kind, self.unit_price)


@dataclass(frozen=True)
class Subscription:
    id: str
    article: Article
    quantity: Decimal
    start_date: dt.date
    end_date: dt.date | None = None
    unit_price: Decimal | None = None  # None: the catalog price

    def __post_init__(self) -> None:
        check_article_place(ArticlePlace.SUBSCRIPTION, self.article.code, self.article.kind)
        check_item_amount(self.article, self.quantity, self.price)
        if self.end_date is not None and self.end_date < self.start_date:
            raise InvalidBillingItem("end_date", "the end date is before the start date")

    @property
    def price(self) -> Decimal:
        return self.article.unit_price if self.unit_price is None else self.unit_price


@dataclass(frozen=True)
class OneTimeItem:
    id: str
    article: Article
    quantity: Decimal
    unit_price: Decimal | None = None  # None: the catalog price
    label: str | None = None  # None: the article's label
    repeat: Repeat = Repeat.ONCE
    active: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "repeat", Repeat(self.repeat))
        check_article_place(ArticlePlace.ONE_TIME_ITEM, self.article.code, self.article.kind)
        check_item_amount(self.article, self.quantity, self.price)

    @property
    def price(self) -> Decimal:
        return self.article.unit_price if self.unit_price is None else self.unit_price


def check_item_amount(article: Article, quantity: Decimal, unit_price: Decimal) -> None:
    """Refuse a folder item the spec forbids: quantity <= 0, or a negative amount on an article
    that is not a credit_note one."""
    if not isinstance(quantity, Decimal | int) or quantity <= 0:
        raise InvalidBillingItem("quantity", "the quantity must be positive")
    check_sign(article.kind, line_net(quantity, unit_price))


@dataclass(frozen=True)
class InvoiceDraft:
    period: BillingPeriod
    lines: tuple[DraftLine, ...]
    consumption: tuple[ConsumptionLine, ...] = ()
    billed_subscription_ids: tuple[str, ...] = ()
    billed_item_ids: tuple[str, ...] = ()  # every one-time item on the invoice
    consumed_item_ids: tuple[str, ...] = ()  # repeat=once: to deactivate, pointing at the invoice
    rated_cdr_ids: tuple[str, ...] = ()  # call records to attach to the invoice
    tax_subtotals: tuple[TaxSubtotal, ...] = field(init=False)
    totals: Totals = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tax_subtotals", tuple(tax_breakdown(self.lines)))
        object.__setattr__(self, "totals", document_totals(self.lines, self.tax_subtotals))

    @property
    def is_empty(self) -> bool:
        """Nothing to bill: no invoice is issued for this client and period."""
        return not self.lines


def subscription_line(subscription: Subscription, period: BillingPeriod) -> DraftLine | None:
    """The subscription's line for the period, prorated by day; None when it does not touch it."""
    days = covered_days(period, subscription.start_date, subscription.end_date)
    if days is None:
        return None
    first, last = days
    price = prorate(subscription.price, period, subscription.start_date, subscription.end_date)
    article = subscription.article
    covered = last - first + 1
    proration = (
        None
        if covered == period.days
        else Proration(monthly_price=subscription.price, days=covered, period_days=period.days)
    )
    return DraftLine(
        label=article.label,
        quantity=subscription.quantity,
        unit_price=price,
        vat_rate=article.vat_rate,
        kind=LineKind.RECURRING,
        article_code=article.code,
        accounting_account=article.accounting_account,
        unit="MON",
        period_start=dt.date(period.year, period.month, first),
        period_end=dt.date(period.year, period.month, last),
        proration=proration,
    )


def one_time_line(item: OneTimeItem) -> DraftLine:
    article = item.article
    return DraftLine(
        label=item.label or article.label,
        quantity=item.quantity,
        unit_price=item.price,
        vat_rate=article.vat_rate,
        kind=LineKind.CREDIT_NOTE if article.kind is ArticleKind.CREDIT_NOTE else LineKind.ONE_TIME,
        article_code=article.code,
        accounting_account=article.accounting_account,
    )


def build_invoice(
    period: BillingPeriod,
    subscriptions: Iterable[Subscription] = (),
    one_time_items: Iterable[OneTimeItem] = (),
    rated_calls: Sequence[RatedCall] = (),
    usage_taxation: UsageTaxation | None = None,
    connection_fee_label: str = "{label} - connection fees",
) -> InvoiceDraft:
    """Lines, consumption summary and what gets consumed, for one client and period."""
    lines: list[DraftLine] = []
    billed_subscriptions: list[str] = []
    for subscription in subscriptions:
        line = subscription_line(subscription, period)
        if line is not None:
            lines.append(line)
            billed_subscriptions.append(subscription.id)

    billed_items: list[str] = []
    consumed: list[str] = []
    for item in one_time_items:
        if not item.active:
            continue
        lines.append(one_time_line(item))
        billed_items.append(item.id)
        if item.repeat is Repeat.ONCE:
            consumed.append(item.id)

    consumption: list[ConsumptionLine] = []
    if rated_calls:
        if usage_taxation is None:
            raise InvalidBillingItem("usage_taxation", "rated calls need the usage article's VAT rate")
        usage = bill_usage(rated_calls, usage_taxation, connection_fee_label)
        # A destination with only unanswered calls bills nothing: summary yes, zero line no.
        lines.extend(line for line in usage.lines if line.quantity != 0)
        consumption = usage.summary

    return InvoiceDraft(
        period=period,
        lines=tuple(lines),
        consumption=tuple(consumption),
        billed_subscription_ids=tuple(billed_subscriptions),
        billed_item_ids=tuple(billed_items),
        consumed_item_ids=tuple(consumed),
        rated_cdr_ids=tuple(call.cdr_id for call in rated_calls),
    )


def invoice_document(
    draft: InvoiceDraft,
    *,
    seller: Party,
    buyer: Party,
    issue_date: dt.date,
    payment_terms_days: int = 30,
    document_type: DocumentType = DocumentType.INVOICE,
    number: str | None = None,
    document_id: uuid.UUID | None = None,
    currency: str = "EUR",
    language: str = "fr",
    run_id: uuid.UUID | None = None,
) -> Document:
    """The shared Document of a draft: an invoice (numbered at production) or a preview (never)."""
    if document_type not in (DocumentType.INVOICE, DocumentType.PREVIEW):
        raise InvalidBillingItem("type", "a billing run produces invoices or previews only")
    if document_type is DocumentType.PREVIEW and number is not None:
        raise InvalidBillingItem("number", "a preview carries no number")
    if draft.is_empty:
        raise InvalidBillingItem("lines", "nothing to bill: an invoice needs at least one line")
    if payment_terms_days < 0:
        raise InvalidBillingItem("payment_terms_days", "payment terms cannot be negative")
    return Document(
        id=document_id or uuid.uuid4(),
        number=number,
        type=document_type,
        issue_date=issue_date,
        due_date=issue_date + dt.timedelta(days=payment_terms_days),
        period=str(draft.period),
        currency=currency,
        language=language,
        seller=seller,
        buyer=buyer,
        lines=to_document_lines(draft.lines),
        tax_breakdown=list(draft.tax_subtotals),
        totals=draft.totals,
        consumption=list(draft.consumption),
        payment_terms_days=payment_terms_days,
        run_id=run_id,
    )
