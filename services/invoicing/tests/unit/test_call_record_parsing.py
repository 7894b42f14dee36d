"""The fast reading of call records gives what `CallRecord.model_validate` gives: the same values for
a valid record, and pydantic's own ValidationError for an invalid one."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from ledgerline_invoicing.service.call_record_parsing import CallFields, parse_call_record
from ledgerline_shared.contracts.events import CallRecord

FIELDS = ("cdr_id", "account", "started_at", "kind", "duration_s", "units", "caller", "callee")


def _values(record: CallRecord | CallFields) -> tuple[Any, ...]:
    values = tuple(getattr(record, name) for name in FIELDS)
    at = values[2]
    # The instant and its offset: pydantic's tzinfo class differs from datetime.timezone, not the offset.
    return (*values[:2], (at.replace(tzinfo=None), at.utcoffset()), *values[3:])


def _outcome(parse: Any, raw: dict[str, Any]) -> Any:
    try:
        return _values(parse(raw))
    except ValidationError as exc:
        return [(e["loc"], e["type"], e["msg"]) for e in exc.errors()]


instants = st.one_of(
    st.datetimes(
        min_value=dt.datetime(1, 1, 1),
        timezones=st.sampled_from(
            [dt.UTC, dt.timezone(dt.timedelta(hours=2)), dt.timezone(-dt.timedelta(hours=5))]
        ),
    ).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "2026-10-01T12:00:00Z",
            "2026-10-01T12:00:00.5+02:00",
            "2026-10-01T12:00:00.123456789+02:00",
            "2026-10-01T12:00:00",
            "2026-10-01",
            "2026-13-01T12:00:00+02:00",
            "2026-02-30T12:00:00+02:00",
            "2026-10-01T24:00:00+02:00",
            "2026-10-01T23:59:60+02:00",
            "2026-10-01T12:00:00+24:00",
            "2026-10-01T12:00:00+02:60",
            "2026-10-01 12:00:00+02:00",
            "",
        ]
    ),
    st.text(max_size=30),
)
texts = st.one_of(st.text(max_size=70), st.sampled_from(["", "x" * 64, "x" * 65, "x" * 128, "x" * 129]))
counts = st.one_of(
    st.none(),
    st.integers(-5, 10**6),
    st.booleans(),
    st.floats(allow_nan=True),
    st.sampled_from(["0", "12", "012", "-1", " 5", "5 ", "1e3", "1.0", "", "99999999999"]),
)
units = st.one_of(
    st.none(),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.integers(-5, 10**6),
    st.floats(),
    st.sampled_from(["1", "12.50", "007", "-1", "1e3", " 1", "NaN", "", "0.00000000001", "1" * 19]),
)
records = st.fixed_dictionaries(
    {
        "cdr_id": st.one_of(texts, st.integers()),
        "account": texts,
        "started_at": instants,
        "kind": st.sampled_from(["voice", "sms", "data", "VOICE", "fax", ""]),
    },
    optional={
        "duration_s": counts,
        "units": units,
        "caller": st.one_of(texts, st.none()),
        "callee": st.one_of(texts, st.none()),
        "extra": st.just("x"),
    },
)


@given(records)
@example({"cdr_id": "c1", "account": "B1", "started_at": "2026-10-01T12:00:00+02:00", "kind": "voice"})
@example(
    {"cdr_id": "c1", "account": "B1", "started_at": "2026-10-01T12:00:00Z", "kind": "data", "units": "1.5"}
)
def test_the_fast_reading_agrees_with_the_contract(raw: dict[str, Any]) -> None:
    assert _outcome(parse_call_record, raw) == _outcome(CallRecord.model_validate, raw)


@pytest.mark.parametrize(
    "raw",
    [
        {
            "cdr_id": "c1",
            "account": "B1",
            "started_at": "2026-10-01T12:00:00+02:00",
            "kind": "voice",
            "duration_s": 61,
        },
        {
            "cdr_id": "c2",
            "account": "B1",
            "started_at": "2026-10-01T12:00:00+02:00",
            "kind": "sms",
            "callee": "+336",
        },
        {
            "cdr_id": "c3",
            "account": "B1",
            "started_at": "2026-10-01T12:00:00.25Z",
            "kind": "data",
            "units": "12.50",
        },
        {
            "cdr_id": "c4",
            "account": "B1",
            "started_at": "2026-10-01T12:00:00+02:00",
            "kind": "voice",
            "duration_s": "7",
        },
    ],
)
def test_the_usual_records_take_the_fast_path(raw: dict[str, Any]) -> None:
    record = parse_call_record(raw)
    assert isinstance(record, CallFields)
    assert _values(record) == _values(CallRecord.model_validate(raw))


def test_an_invalid_record_is_refused_with_pydantics_message() -> None:
    raw = {"cdr_id": "c1", "account": "B1", "started_at": "2026-10-01T12:00:00+02:00", "kind": "fax"}
    with pytest.raises(ValidationError, match="kind"):
        parse_call_record(raw)
    assert parse_call_record({**raw, "kind": "voice", "units": Decimal("1")}).units == Decimal("1")


usual_records = st.fixed_dictionaries(
    {
        "cdr_id": st.text(min_size=1, max_size=10),
        "account": st.text(min_size=1, max_size=10),
        "started_at": instants,
        "kind": st.sampled_from(["voice", "sms", "data"]),
    },
    optional={
        "duration_s": st.one_of(st.integers(0, 10**6), st.integers(0, 10**6).map(str)),
        "units": st.one_of(
            st.decimals(min_value=0, max_value=10**6, places=3).map(str), st.decimals(allow_nan=False)
        ),
        "caller": st.text(max_size=20),
        "callee": st.text(max_size=20),
    },
)


@given(usual_records)
def test_the_fast_reading_agrees_with_the_contract_on_usual_records(raw: dict[str, Any]) -> None:
    assert _outcome(parse_call_record, raw) == _outcome(CallRecord.model_validate, raw)
