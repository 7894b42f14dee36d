import datetime as dt
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st
from invoicing_factories import BUYER, GOODWILL, ISSUE, LINE_ARTICLE, SELLER, SETUP, invoice_from_lines

from ledgerline_invoicing.domain.billing import (
    Article,
    ArticleKind,
    OneTimeItem,
    Repeat,
    Subscription,
    build_invoice,
    invoice_document,
)
from ledgerline_invoicing.domain.consumption import UsageTaxation, bill_usage, billable_minutes
from ledgerline_invoicing.domain.errors import InvalidBillingItem
from ledgerline_invoicing.domain.lines import DraftLine
from ledgerline_invoicing.domain.money import line_net
from ledgerline_invoicing.domain.period import BillingPeriod
from ledgerline_invoicing.domain.rating import Increment, RatedCall, RatePlan, RateRule, rate_call
from ledgerline_shared.contracts.document import DocumentType, LineKind
from ledgerline_shared.contracts.events import CallRecord

MARCH = BillingPeriod(2026, 3)
USAGE = UsageTaxation(vat_rate=D("20"), article_code="USAGE", accounting_account="706300")


def call(cdr, callee, duration=None, kind="voice", units=None):
    return CallRecord(
        cdr_id=cdr,
        account="ACME",
        started_at=dt.datetime(2026, 3, 5, tzinfo=dt.UTC),
        kind=kind,
        duration_s=duration,
        units=units,
        callee=callee,
    )


PLAN = RatePlan(
    "STD",
    [
        RateRule("33", "France", "voice", D("0.10"), D("0.05"), Increment(60, 60)),
        RateRule("44", "UK", "voice", D("0.30"), D("0"), Increment(1, 1)),
        RateRule("33", "SMS France", "sms", D("0.07")),
        RateRule("", "Data", "data", D("0.015")),
    ],
)


def rate_all(records) -> list[RatedCall]:
    results = [rate_call(PLAN, r) for r in records]
    assert all(isinstance(r, RatedCall) for r in results)
    return results  # type: ignore[return-value]


def test_full_month_subscription_one_time_items_and_usage():
    subs = [Subscription("s1", LINE_ARTICLE, D(2), dt.date(2025, 1, 1))]
    items = [
        OneTimeItem("o1", SETUP, D(1)),
        OneTimeItem("o2", GOODWILL, D(1), repeat=Repeat.EVERY_CYCLE),
        OneTimeItem("o3", SETUP, D(1), active=False),
    ]
    calls = rate_all(
        [
            call("c1", "+33140000000", 61),  # 2 min, fee
            call("c2", "+33140000001", 30),  # 1 min, fee
            call("c3", "+33140000002", 0),  # unanswered: no fee
            call("c4", "+441234", 61),  # 61 s at 1/1
            call("c5", "+33612", kind="sms", units=D(3)),
            call("c6", "", kind="data", units=D("100.5")),
        ]
    )
    draft = build_invoice(MARCH, subs, items, calls, USAGE)
    got = [(line.label, line.kind, line.quantity, line.unit_price, line.net_amount) for line in draft.lines]
    assert got == [
        ("Phone line", LineKind.RECURRING, D(2), D("20.00"), D("40.00")),
        ("Set-up fee", LineKind.ONE_TIME, D(1), D("49.00"), D("49.00")),
        ("Commercial credit", LineKind.CREDIT_NOTE, D(1), D("-10.00"), D("-10.00")),
        ("France", LineKind.USAGE, D(3), D("0.10"), D("0.30")),
        ("France - connection fees", LineKind.USAGE, D(2), D("0.05"), D("0.10")),
        ("UK", LineKind.USAGE, D("1.0167"), D("0.30"), D("0.31")),  # 61/60 min to 4 dp
        ("SMS France", LineKind.USAGE, D(3), D("0.07"), D("0.21")),
        ("Data", LineKind.USAGE, D("100.5"), D("0.015"), D("1.51")),  # 1.5075
    ]
    assert draft.lines[0].period_start == dt.date(2026, 3, 1)
    assert draft.lines[0].period_end == dt.date(2026, 3, 31)
    assert draft.lines[3].unit == "MIN" and draft.lines[3].accounting_account == "706300"
    assert draft.billed_subscription_ids == ("s1",)
    assert draft.billed_item_ids == ("o1", "o2")
    assert draft.consumed_item_ids == ("o1",)  # every_cycle stays active, inactive skipped
    assert draft.rated_cdr_ids == ("c1", "c2", "c3", "c4", "c5", "c6")
    summary = {(c.label, c.kind): c for c in draft.consumption}
    france = summary[("France", "voice")]
    assert (france.count, france.duration_s, france.units, france.amount) == (3, 91, None, D("0.40"))
    assert summary[("SMS France", "sms")].units == D(3)
    assert summary[("Data", "data")].amount == D("1.51")
    # each line reads quantity x price (spec section 4), totals reconcile
    assert all(line.net_amount == line_net(line.quantity, line.unit_price) for line in draft.lines)
    assert draft.totals.net_total == D("81.43")
    assert draft.totals.tax_total == D("16.29")  # 81.43 x 20% = 16.286
    assert draft.totals.gross_total == D("97.72")


def test_usage_summary_amount_equals_its_lines():
    calls = rate_all([call(f"c{i}", "+441234", 7 * i + 1) for i in range(50)])
    usage = bill_usage(calls, USAGE)
    assert sum((line.net_amount for line in usage.lines), D(0)) == sum(c.amount for c in usage.summary)
    assert usage.lines[0].quantity == billable_minutes(sum(c.billable_s for c in calls))


def test_unanswered_only_destination_bills_no_line_but_is_summarised():
    draft = build_invoice(MARCH, rated_calls=rate_all([call("c1", "+3314", 0)]), usage_taxation=USAGE)
    assert draft.is_empty
    assert draft.consumption[0].count == 1
    assert draft.consumption[0].amount == 0


def test_nothing_to_bill():
    draft = build_invoice(MARCH, [Subscription("s", LINE_ARTICLE, D(1), dt.date(2026, 4, 1))], [], [])
    assert draft.is_empty
    assert draft.totals.gross_total == 0
    with pytest.raises(InvalidBillingItem) as error:
        invoice_document(draft, seller=SELLER, buyer=BUYER, issue_date=ISSUE)
    assert error.value.field == "lines"


def test_rated_calls_need_the_usage_taxation():
    with pytest.raises(InvalidBillingItem) as error:
        build_invoice(MARCH, rated_calls=rate_all([call("c1", "+3314", 10)]))
    assert error.value.field == "usage_taxation"


def test_prorated_subscription_keeps_quantity_and_prorates_the_price():
    sub = Subscription("s1", LINE_ARTICLE, D(3), dt.date(2026, 3, 17), unit_price=D("31.00"))
    (line,) = build_invoice(MARCH, [sub]).lines
    assert (line.quantity, line.unit_price, line.net_amount) == (D(3), D("15.00"), D("45.00"))
    assert (line.period_start, line.period_end) == (dt.date(2026, 3, 17), dt.date(2026, 3, 31))


@given(cut=st.integers(1, 30), price=st.decimals(min_value=D("0"), max_value=D("999"), places=2))
def test_a_subscription_moved_mid_month_bills_exactly_one_month(cut, price):
    article = Article("L", "Line", ArticleKind.RECURRING, price, D("20"))
    old = Subscription("old", article, D(2), dt.date(2026, 1, 1), dt.date(2026, 3, cut))
    new = Subscription("new", article, D(2), dt.date(2026, 3, cut + 1))
    draft = build_invoice(MARCH, [old, new])
    assert draft.totals.net_total == line_net(D(2), price)


def test_refusals_of_folder_items():
    with pytest.raises(InvalidBillingItem) as error:
        OneTimeItem("o", SETUP, D(1), unit_price=D("-5"))
    assert error.value.field == "unit_price"
    with pytest.raises(InvalidBillingItem) as error:
        OneTimeItem("o", SETUP, D(-1))
    assert error.value.field == "quantity"
    with pytest.raises(InvalidBillingItem) as error:
        Subscription("s", SETUP, D(1), dt.date(2026, 1, 1))
    assert error.value.field == "article_code"
    with pytest.raises(InvalidBillingItem) as error:
        Subscription("s", LINE_ARTICLE, D(1), dt.date(2026, 1, 2), dt.date(2026, 1, 1))
    assert error.value.field == "end_date"
    with pytest.raises(InvalidBillingItem) as error:
        Article("X", "x", ArticleKind.ONE_TIME, D("-1"), D("20"))
    assert error.value.field == "unit_price"
    usage = Article("U", "u", ArticleKind.USAGE, D("1"), D("20"))
    with pytest.raises(InvalidBillingItem):
        OneTimeItem("o", usage, D(1))
    # a credit_note article may be negative, and even positive
    assert OneTimeItem("o", GOODWILL, D(1), unit_price=D("-50.00")).price == D("-50.00")


def test_invoice_document():
    draft = build_invoice(MARCH, one_time_items=[OneTimeItem("o1", SETUP, D(1))])
    doc = invoice_document(
        draft, seller=SELLER, buyer=BUYER, issue_date=ISSUE, payment_terms_days=45, number="F2026-000007"
    )
    assert doc.type is DocumentType.INVOICE
    assert doc.due_date == dt.date(2026, 5, 16)
    assert doc.period == "2026-03"
    assert [line.line_no for line in doc.lines] == [1]
    assert doc.totals.gross_total == D("58.80")
    assert doc.model_dump(mode="json")["totals"]["gross_total"] == "58.80"
    preview = invoice_document(
        draft, seller=SELLER, buyer=BUYER, issue_date=ISSUE, document_type=DocumentType.PREVIEW
    )
    assert preview.number is None
    with pytest.raises(InvalidBillingItem) as error:
        invoice_document(
            draft,
            seller=SELLER,
            buyer=BUYER,
            issue_date=ISSUE,
            document_type=DocumentType.PREVIEW,
            number="F1",
        )
    assert error.value.field == "number"
    with pytest.raises(InvalidBillingItem) as error:
        invoice_document(
            draft, seller=SELLER, buyer=BUYER, issue_date=ISSUE, document_type=DocumentType.PROFORMA
        )
    assert error.value.field == "type"


def test_factory_invoice_is_consistent():
    doc = invoice_from_lines([DraftLine("a", D(1), D("10"), D("20"))])
    assert doc.totals.gross_total == D("12.00")


def test_a_stored_sms_record_without_units_is_billed_as_the_one_message_it_was_rated() -> None:
    """The stored `units` column is the record's own (None here); the billing run reads it back as
    rating did: one message. Before, such SMS were rated but billed as 0 messages (no line)."""
    from types import SimpleNamespace

    from ledgerline_invoicing.adapters.billing_inputs import rated_call as _rated

    record = call("s1", "+33612345678", kind="sms")
    rated = rate_call(PLAN, record)
    assert isinstance(rated, RatedCall) and rated.units == 1
    row = SimpleNamespace(
        cdr_id="s1", kind="sms", destination=rated.label, prefix=rated.prefix, unit_price=rated.unit_price,
        duration_s=None, billable_s=0, units=None, connection_fee=rated.connection_fee, cost=rated.cost,
    )  # fmt: skip
    assert _rated(row) == rated
    lines = bill_usage([_rated(row)], UsageTaxation(vat_rate=D("20.00"))).lines
    assert [(line.quantity, line.unit_price) for line in lines] == [(1, rated.unit_price)]
