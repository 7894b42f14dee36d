import datetime as dt
from decimal import Decimal as D

import pytest

from ledgerline_invoicing.domain.errors import InvalidRatePlan
from ledgerline_invoicing.domain.rating import (
    Increment,
    RatedCall,
    RatePlan,
    RateRule,
    Unratable,
    normalise_callee,
    rate_call,
)
from ledgerline_shared.contracts.events import CallRecord


def record(callee="+33612345678", duration_s=None, kind="voice", units=None, cdr="c1", account="ACME"):
    return CallRecord(
        cdr_id=cdr,
        account=account,
        started_at=dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC),
        kind=kind,
        duration_s=duration_s,
        units=units,
        caller="+33100000000",
        callee=callee,
    )


def voice(prefix, label, price, fee="0", increment="60/60"):
    return RateRule(prefix, label, "voice", D(price), D(fee), Increment.parse(increment))


PLAN = RatePlan(
    "STD",
    [
        voice("33", "France", "0.10"),
        voice("336", "France mobile", "0.20"),
        voice("3361", "France mobile premium", "0.50", fee="0.15"),
        voice("06", "Mobile (national)", "0.20"),
        RateRule("33", "SMS France", "sms", D("0.05")),
        RateRule("", "Data", "data", D("0.01")),
    ],
)


def rated(result):
    assert isinstance(result, RatedCall), result
    return result


def test_longest_prefix_wins():
    assert rated(rate_call(PLAN, record("+33 1 40 00 00 00", 60))).label == "France"
    assert rated(rate_call(PLAN, record("+33 7 00 00 00 00", 60))).label == "France"
    assert rated(rate_call(PLAN, record("+33 6 20 00 00 00", 60))).label == "France mobile"
    assert rated(rate_call(PLAN, record("+33 6 12 00 00 00", 60))).label == "France mobile premium"


def test_rules_are_chosen_among_the_records_kind():
    sms = rated(rate_call(PLAN, record("+33612345678", kind="sms", units=D(3))))
    assert (sms.label, sms.cost) == ("SMS France", D("0.1500"))


def test_callee_normalisation():
    assert normalise_callee("+33 6 12-34.56 (7)") == "3361234567"
    assert normalise_callee("0033612") == "33612"
    assert normalise_callee("0612") == "0612"
    # '00' and '+' are the same international number
    a = rated(rate_call(PLAN, record("0033612345678", 60)))
    b = rated(rate_call(PLAN, record("+33612345678", 60)))
    assert a.label == b.label == "France mobile premium"
    assert rated(rate_call(PLAN, record("06 12 34 56 78", 60))).label == "Mobile (national)"


@pytest.mark.parametrize(
    ("increment", "duration", "billable"),
    [
        ("60/60", 1, 60),
        ("60/60", 60, 60),
        ("60/60", 61, 120),
        ("60/60", 125, 180),
        ("1/1", 1, 1),
        ("1/1", 61, 61),
        ("1/1", 125, 125),
        ("30/30", 1, 30),
        ("30/30", 31, 60),
        ("30/30", 61, 90),
        ("60/1", 1, 60),
        ("60/1", 59, 60),
        ("60/1", 61, 61),
        ("60/1", 125, 125),
        ("30/6", 31, 36),
        ("60/60", 0, 0),
    ],
)
def test_increments(increment, duration, billable):
    assert Increment.parse(increment).billable_seconds(duration) == billable


@pytest.mark.parametrize(
    ("increment", "duration", "cost"),
    [
        ("60/60", 61, D("0.2000")),  # 2 min x 0.10
        ("1/1", 61, D("0.1017")),  # 61/60 x 0.10 = 0.101666.. -> 4 dp half-up
        ("30/30", 61, D("0.1500")),  # 90 s
        ("60/1", 61, D("0.1017")),
        ("60/1", 10, D("0.1000")),  # first minute is whole
    ],
)
def test_voice_cost_is_per_minute_at_four_decimals(increment, duration, cost):
    plan = RatePlan("P", [voice("44", "UK", "0.10", increment=increment)])
    call = rated(rate_call(plan, record("+441234", duration)))
    assert call.cost == cost
    assert call.duration_s == duration


def test_connection_fee_only_on_answered_voice_calls():
    call = rated(rate_call(PLAN, record("+33612000000", 61)))
    assert call.connection_fee == D("0.15")
    assert call.cost == D("1.1500")  # 2 min x 0.50 + 0.15
    unanswered = rated(rate_call(PLAN, record("+33612000000", 0)))
    assert (unanswered.billable_s, unanswered.connection_fee, unanswered.cost) == (0, D(0), D("0.0000"))


def test_sms_and_data_units():
    assert rated(rate_call(PLAN, record("+33612", kind="sms"))).units == 1  # one message by default
    data = rated(rate_call(PLAN, record("", kind="data", units=D("123.45"))))
    assert (data.label, data.cost, data.quantity) == ("Data", D("1.2345"), D("123.45"))


@pytest.mark.parametrize(
    ("rec", "reason"),
    [
        (record("+1 212 555", 60), "no matching prefix"),
        (record("+33612", None), "missing duration"),
        (record("", kind="data", units=None), "missing units"),
        (record("+33612", kind="sms", units=D("1.5")), "fractional message count"),
        (record("+33612", kind="sms", units=D("-1")), "negative units"),
        (record("*123#", 10), "malformed callee '*123#'"),
    ],
)
def test_unratable_records_are_kept_with_a_reason(rec, reason):
    result = rate_call(PLAN, rec)
    assert result == Unratable(rec.cdr_id, reason)


def test_an_account_without_plan():
    rec = record("+33612", 60, account="NOPE")
    assert rate_call(None, rec) == Unratable("c1", "no rate plan for account")
    assert isinstance(rate_call(PLAN, rec), RatedCall)


@pytest.mark.parametrize("bad", ["60", "60/", "/60", "0/60", "60/0", "a/b", "60/60/60", "-1/1"])
def test_malformed_increments_are_refused(bad):
    with pytest.raises(InvalidRatePlan) as error:
        Increment.parse(bad)
    assert error.value.field == "increment"


def test_rate_plan_refusals():
    with pytest.raises(InvalidRatePlan) as error:
        voice("+33", "x", "0.1")
    assert error.value.field == "prefix"
    with pytest.raises(InvalidRatePlan) as error:
        voice("33", "x", "-0.1")
    assert error.value.field == "unit_price"
    with pytest.raises(InvalidRatePlan) as error:
        voice("33", " ", "0.1")
    assert error.value.field == "label"
    with pytest.raises(InvalidRatePlan) as error:
        RatePlan("P", [voice("33", "a", "0.1"), voice("33", "b", "0.2")])
    assert error.value.field == "rules[1].prefix"
    # the same prefix for two kinds is fine
    RatePlan("P", [voice("33", "a", "0.1"), RateRule("33", "b", "sms", D("0.1"))])


def test_a_data_session_named_by_its_access_point_uses_the_catch_all_rule():
    assert rated(rate_call(PLAN, record("internet.apn", kind="data", units=D(1)))).label == "Data"
    without_catch_all = RatePlan("P", [RateRule("33", "Data FR", "data", D("0.01"))])
    assert rate_call(without_catch_all, record("internet", kind="data", units=D(1))) == Unratable(
        "c1", "no matching prefix"
    )
