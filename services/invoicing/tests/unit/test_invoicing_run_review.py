"""The review's anomaly flags (issue 15): each flag at, below and above its threshold, and the edge
cases (no history, a credit-only history, a currency the client changed); the report's order and
counts; the four-eyes rules of an approval."""

from decimal import Decimal as D

import pytest

from ledgerline_invoicing.domain.period import BillingPeriod
from ledgerline_invoicing.domain.run_approval import (
    ApprovalRefused,
    OwnPreviewApproval,
    StoredApproval,
    check_approval_request,
    digest,
    why_not_standing,
)
from ledgerline_invoicing.domain.run_review import (
    FlagCode,
    LineAmount,
    PastInvoice,
    PreviewFacts,
    ReviewThresholds,
    RunReview,
    compare_totals,
    flag_preview,
    previous_period,
)

T = ReviewThresholds()  # the defaults: 30 % and 20.00, 3x over 3 cycles, 500.00 first invoice


def facts(total: str = "120.00", usage: str = "10.00", **extra) -> PreviewFacts:
    values = {
        "document_id": "d1",
        "client_id": "c1",
        "client_code": "ACME",
        "client_name": "Acme",
        "period": "2026-03",
        "currency": "EUR",
        "gross_total": D(total),
        "usage_net": D(usage),
        "active_subscriptions": 1,
        "call_records": 5,
        "invoice_recipients": 1,
    }
    return PreviewFacts(**(values | extra))


def past(total: str = "120.00", usage: str = "10.00", currency: str = "EUR", period: str = "2026-02"):
    return PastInvoice(f"F-{period}", period, currency, D(total), D(usage))


def codes(review) -> set[FlagCode]:
    return {f.code for f in review.flags}


def test_an_ordinary_preview_trips_nothing():
    assert flag_preview(facts(), [past()], T).flags == ()


# -- total change: share AND amount -----------------------------------------------------------
@pytest.mark.parametrize(
    ("before", "now", "flagged"),
    [
        ("100.00", "130.00", False),  # +30 % exactly, 30.00: not over the share
        ("100.00", "130.01", True),  # just over both
        ("100.00", "69.99", True),  # -30.01 %: a drop counts too
        ("50.00", "70.00", False),  # +40 % but only 20.00: not over the amount
        ("50.00", "70.01", True),
        ("1000.00", "1250.00", False),  # 250.00 but only 25 %
    ],
)
def test_total_change_needs_both_the_share_and_the_amount(before, now, flagged):
    review = flag_preview(facts(total=now), [past(total=before)], T)
    assert (FlagCode.TOTAL_CHANGE in codes(review)) is flagged


def test_total_change_names_the_last_invoice_and_its_figures():
    review = flag_preview(
        facts(total="200.00"), [past("100.00", period="2026-02"), past("90.00", period="2026-01")], T
    )
    (flag,) = review.flags
    assert flag.figures["previous_number"] == "F-2026-02" and flag.figures["change"] == "100.00"
    assert flag.figures["change_percent"] == "100.0" and flag.impact == D("100.00") and flag.blocking
    assert flag.sentence == (
        "The total of 200.00 EUR differs by 100.00 EUR (100.0 %) from the last invoice F-2026-02"
        " of 100.00 EUR."
    )


def test_thresholds_are_configurable():
    strict = ReviewThresholds(total_change_share=D("0.05"), total_change_amount=D("1.00"))
    assert FlagCode.TOTAL_CHANGE in codes(flag_preview(facts(total="110.00"), [past("100.00")], strict))
    assert FlagCode.TOTAL_CHANGE not in codes(flag_preview(facts(total="110.00"), [past("100.00")], T))


def test_a_credit_only_last_invoice_compares_against_its_size():
    # Last cycle billed only a credit (-35.00): back to 100.00 is a change of 135.00.
    review = flag_preview(facts(total="100.00"), [past(total="-35.00")], T)
    flag = next(f for f in review.flags if f.code is FlagCode.TOTAL_CHANGE)
    assert flag.figures["change"] == "135.00" and flag.figures["change_percent"] == "385.7"


def test_a_zero_last_invoice_lets_the_amount_decide():
    assert FlagCode.TOTAL_CHANGE in codes(flag_preview(facts(total="25.00"), [past(total="0.00")], T))
    review = flag_preview(facts(total="15.00"), [past(total="0.00")], T)
    assert FlagCode.TOTAL_CHANGE not in codes(review)


def test_a_currency_change_compares_nothing_across_currencies():
    history = [past("100.00", usage="1.00", currency="EUR", period=f"2026-0{m}") for m in (2, 1)]
    review = flag_preview(facts(total="900.00", usage="500.00", currency="GBP"), history, T)
    assert codes(review) == set()  # neither total change, usage spike, nor "first invoice"
    # The usage average uses only the cycles in the preview's currency.
    mixed = [past(usage="10.00", currency="GBP", period="2026-02"), past(usage="1.00", period="2026-01")]
    review = flag_preview(facts(total="120.00", usage="31.00", currency="GBP"), mixed, T)
    spike = next(f for f in review.flags if f.code is FlagCode.USAGE_SPIKE)
    assert spike.figures["average"] == "10.00" and spike.figures["cycles"] == "1"


# -- usage spike ---------------------------------------------------------------------------------
def test_usage_over_n_times_the_average_of_the_last_three_cycles():
    history = [
        past(usage=u, period=p) for u, p in (("10.00", "2026-02"), ("20.00", "2026-01"), ("30.00", "2025-12"))
    ]
    assert FlagCode.USAGE_SPIKE not in codes(flag_preview(facts(usage="60.00"), history, T))  # 3x exactly
    review = flag_preview(facts(usage="60.01"), history, T)
    spike = next(f for f in review.flags if f.code is FlagCode.USAGE_SPIKE)
    assert spike.figures == {
        "currency": "EUR",
        "total": "120.00",
        "usage": "60.01",
        "average": "20.00",
        "multiple": "3",
        "cycles": "3",
    }
    assert spike.impact == D("40.01")
    # Only the last three cycles count: a fourth, older one with big usage changes nothing.
    older = [*history, past(usage="900.00", period="2025-11")]
    assert FlagCode.USAGE_SPIKE in codes(flag_preview(facts(usage="60.01"), older, T))
    assert FlagCode.USAGE_SPIKE in codes(
        flag_preview(facts(usage="40.01"), history, ReviewThresholds(usage_multiple=D("2")))
    )


def test_no_usage_spike_without_history_or_without_usage():
    assert FlagCode.USAGE_SPIKE not in codes(flag_preview(facts(usage="400.00"), [], T))
    assert FlagCode.USAGE_SPIKE not in codes(flag_preview(facts(usage="0.00"), [past(usage="0.00")], T))
    # An average of zero: any usage is over N times it.
    assert FlagCode.USAGE_SPIKE in codes(flag_preview(facts(usage="5.00"), [past(usage="0.00")], T))


# -- the folder flags ------------------------------------------------------------------------------
def test_subscriptions_without_call_records_may_be_a_missing_feed():
    review = flag_preview(facts(call_records=0, active_subscriptions=2), [past()], T)
    (flag,) = review.flags
    assert flag.code is FlagCode.NO_CALL_RECORDS and flag.figures == {
        "subscriptions": "2",
        "period": "2026-03",
    }
    assert "a mediation feed may be missing" in flag.sentence
    assert flag_preview(facts(call_records=0, active_subscriptions=0), [past()], T).flags == ()
    assert flag_preview(facts(call_records=1, active_subscriptions=2), [past()], T).flags == ()


@pytest.mark.parametrize(("total", "flagged"), [("0.00", True), ("-12.00", True), ("0.01", False)])
def test_a_zero_or_negative_total(total, flagged):
    review = flag_preview(facts(total=total), [past(total=total)], T)
    assert (FlagCode.NON_POSITIVE_TOTAL in codes(review)) is flagged


def test_no_invoice_recipient_is_flagged_but_not_blocking():
    review = flag_preview(facts(invoice_recipients=0), [past()], T)
    (flag,) = review.flags
    assert flag.code is FlagCode.NO_INVOICE_RECIPIENT and not flag.blocking
    assert flag.sentence == "No contact is flagged as invoice recipient: the invoice cannot be e-mailed."


def test_unrated_call_records_kept_for_the_client():
    review = flag_preview(facts(unrated_call_records=3), [past()], T)
    (flag,) = review.flags
    assert flag.code is FlagCode.UNRATED_CALL_RECORDS and flag.figures == {"unrated": "3"}


def test_a_credit_item_repeated_every_cycle():
    review = flag_preview(facts(every_cycle_credits=(D("-35.00"), D("-5.00"))), [past()], T)
    (flag,) = review.flags
    assert flag.code is FlagCode.EVERY_CYCLE_CREDIT and flag.impact == D("40.00")
    assert flag.figures["credit"] == "-40.00" and flag.figures["items"] == "2"


@pytest.mark.parametrize(("total", "flagged"), [("500.00", False), ("500.01", True)])
def test_a_large_first_invoice_with_no_history(total, flagged):
    assert (FlagCode.LARGE_FIRST_INVOICE in codes(flag_preview(facts(total=total), [], T))) is flagged
    # With any history (even in another currency) the client is not new.
    assert FlagCode.LARGE_FIRST_INVOICE not in codes(
        flag_preview(facts(total=total), [past(currency="GBP")], T)
    )
    lower = ReviewThresholds(first_invoice_amount=D("100.00"))
    assert FlagCode.LARGE_FIRST_INVOICE in codes(flag_preview(facts(total=total), [], lower))


def test_no_history_trips_only_what_needs_none():
    review = flag_preview(facts(total="100.00", usage="90.00"), [], T)
    assert review.flags == ()


# -- the report -------------------------------------------------------------------------------------
def test_the_report_counts_each_flag_once_per_preview_and_sorts_by_impact():
    small = flag_preview(facts(client_code="B", invoice_recipients=0, total="10.00"), [past("10.00")], T)
    big = flag_preview(facts(client_code="A", total="400.00"), [past("100.00")], T)
    both = flag_preview(
        facts(client_code="C", total="-50.00", invoice_recipients=0), [past("100.00")], T
    )  # change 150, non-positive, no recipient
    clean = flag_preview(facts(client_code="D"), [past()], T)
    report = RunReview((small, big, both, clean))
    assert report.counts[FlagCode.NO_INVOICE_RECIPIENT] == 2 and report.counts[FlagCode.TOTAL_CHANGE] == 2
    assert report.counts[FlagCode.USAGE_SPIKE] == 0 and set(report.counts) == set(FlagCode)
    assert [r.facts.client_code for r in report.flagged] == ["A", "C", "B"]
    assert report.blocking_codes == {FlagCode.TOTAL_CHANGE, FlagCode.NON_POSITIVE_TOTAL}


def test_totals_per_family_and_vat_rate_against_the_previous_period():
    now = [
        LineAmount("EUR", "recurring", D("20.00"), D("100.00")),
        LineAmount("EUR", "recurring", D("20.00"), D("50.00")),
        LineAmount("EUR", "usage", D("20.00"), D("12.00")),
    ]
    before = [
        LineAmount("EUR", "recurring", D("20.00"), D("120.00")),
        LineAmount("GBP", "one_time", D("20.00"), D("5")),
    ]
    rows = {(t.currency, t.family): t for t in compare_totals(now, before)}
    assert rows["EUR", "recurring"].change == D("30.00") and rows["EUR", "recurring"].change_share == D(
        "0.25"
    )
    assert rows["EUR", "usage"].previous == 0 and rows["EUR", "usage"].change_share is None
    assert rows["GBP", "one_time"].current == 0 and rows["GBP", "one_time"].change == D("-5")


def test_previous_period_crosses_the_year():
    assert previous_period(BillingPeriod(2026, 1)) == BillingPeriod(2025, 12)
    assert previous_period(BillingPeriod(2026, 3)) == BillingPeriod(2026, 2)


# -- four eyes ------------------------------------------------------------------------------------
def test_the_starter_of_a_preview_may_not_approve_it():
    with pytest.raises(OwnPreviewApproval, match="second person"):
        check_approval_request(
            approver="alice", preview_started_by="alice", comment="fine", acknowledged=(), blocking=()
        )
    check_approval_request(
        approver="bob", preview_started_by="alice", comment=None, acknowledged=(), blocking=()
    )


def test_blocking_flags_need_each_an_acknowledgement_or_a_comment():
    blocking = {FlagCode.TOTAL_CHANGE, FlagCode.USAGE_SPIKE}
    with pytest.raises(ApprovalRefused, match="total_change, usage_spike"):
        check_approval_request(
            approver="bob", preview_started_by="alice", comment=" ", acknowledged=(), blocking=blocking
        )
    with pytest.raises(ApprovalRefused, match=r"\(usage_spike\)"):
        check_approval_request(
            approver="bob",
            preview_started_by="alice",
            comment=None,
            acknowledged=["total_change"],
            blocking=blocking,
        )
    with pytest.raises(ApprovalRefused, match="unknown flag codes: bogus"):
        check_approval_request(
            approver="bob",
            preview_started_by="alice",
            comment="ok",
            acknowledged=["bogus"],
            blocking=blocking,
        )
    check_approval_request(
        approver="bob",
        preview_started_by="alice",
        comment=None,
        acknowledged=list(blocking),
        blocking=blocking,
    )
    check_approval_request(
        approver="bob",
        preview_started_by="alice",
        comment="Usage of the fair",
        acknowledged=(),
        blocking=blocking,
    )


INPUTS = {
    "call_records": "unbilled=10 max_id=10 unrated=0",
    "subscriptions": "s",
    "one_time_items": "i",
    "articles": "a",
}
APPROVAL = StoredApproval("run-1", "bob", "2026-04-01T10:00:00+00:00", "h", INPUTS, None)


def test_an_approval_stands_while_previews_and_inputs_are_unchanged():
    assert (
        why_not_standing(APPROVAL, period="2026-03", previews_hash="h", inputs=INPUTS, client_ids=None)
        is None
    )
    missing = why_not_standing(None, period="2026-03", previews_hash="", inputs={}, client_ids=None)
    assert missing is not None and missing.startswith("Production of 2026-03 needs an approved preview")
    replaced = why_not_standing(
        APPROVAL, period="2026-03", previews_hash="other", inputs=INPUTS, client_ids=None
    )
    assert replaced is not None and "replaced by a later preview run" in replaced
    changed = INPUTS | {"call_records": "unbilled=11 max_id=11 unrated=0", "one_time_items": "j"}
    why = why_not_standing(APPROVAL, period="2026-03", previews_hash="h", inputs=changed, client_ids=None)
    assert why is not None and "the call records, one-time items of 2026-03 changed since" in why
    assert "run-1 by bob" in why and "Run a new preview of 2026-03" in why


def test_an_approval_of_some_clients_admits_only_those():
    some = StoredApproval("run-1", "bob", "t", "h", INPUTS, frozenset({"c1", "c2"}))
    assert (
        why_not_standing(some, period="2026-03", previews_hash="h", inputs=INPUTS, client_ids=["c1"]) is None
    )
    every = why_not_standing(some, period="2026-03", previews_hash="h", inputs=INPUTS, client_ids=None)
    assert every is not None and "asks for every client" in every
    other = why_not_standing(
        some, period="2026-03", previews_hash="h", inputs=INPUTS, client_ids=["c1", "c3"]
    )
    assert other is not None and "1 client(s) not approved" in other


def test_digest_is_stable_and_sensitive():
    rows = [("a", D("1.00"), None), ("b", 2, "x")]
    assert digest(rows) == digest(list(rows)) and len(digest(rows)) == 64
    assert digest(rows) != digest([("a", D("1.01"), None), ("b", 2, "x")])
    assert digest([("a", None)]) != digest([("a", "x")])
