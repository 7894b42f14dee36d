"""Call records reach PostgreSQL in COPY's text format (adapters/call_records.py): every value must be
stored exactly as the driver's binary COPY stores it, whatever it holds (tabs, newlines, backslashes,
a literal \\N, empty text, exponents, odd offsets)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, NamedTuple

from invoicing_api_setup import call, operator
from sqlalchemy import text

from ledgerline_invoicing.adapters.call_records import STORED_COLUMNS, CallRecordRepository, copy_line

PARIS = dt.timezone(dt.timedelta(hours=2))
ODD = dt.timezone(dt.timedelta(hours=-5, minutes=-30, seconds=-15))
CLIENT = "0b9cbc24-3530-4c81-85c5-dc974e8000c6"


def zone(**offset: int) -> dt.timezone:
    return dt.timezone(dt.timedelta(**offset))


def rated(cdr_id: str, **changes: Any) -> tuple[Any, ...]:
    row = {
        "cdr_id": cdr_id,
        "account": "ACME1",
        "started_at": dt.datetime(2026, 10, 18, 11, 15, 54, tzinfo=PARIS),
        "period": "2026-10",
        "kind": "voice",
        "duration_s": 61,
        "units": None,
        "caller": "+33140000000",
        "callee": "+33612345678",
        "client_id": CLIENT,
        "destination": "France mobile",
        "prefix": "336",
        "unit_price": Decimal("0.120000"),
        "connection_fee": Decimal("0.0500"),
        "billable_s": 61,
        "cost": Decimal("0.1720"),
        "unratable_reason": None,
    }
    row.update(changes)
    return tuple(row[c] for c in STORED_COLUMNS)


def unrated(cdr_id: str, reason: str, **changes: Any) -> tuple[Any, ...]:
    nothing = dict.fromkeys(("client_id", "destination", "prefix", "unit_price", "connection_fee", "cost"))
    return rated(cdr_id, **{**nothing, "billable_s": None, "unratable_reason": reason, **changes})


ROWS = [
    rated("plain"),
    rated("tab\there", caller="a\tb", callee="new\nline", destination="CR\rhere"),
    rated("back\\slash", caller="\\N", callee="\\", destination="ends with \\"),
    rated("\\N"),  # the NULL marker as a value: text, not NULL
    rated("empty-caller", caller="", callee=""),  # empty text stays empty text
    rated("unicode é ñ 日本", destination="Côte d'Ivoire mobile", caller="\u00a0", callee="\u2028"),
    rated("control\x01", account="ACME1\x1f"),
    rated("micro", started_at=dt.datetime(2026, 10, 31, 23, 59, 59, 999999, tzinfo=ODD)),
    rated("utc", started_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), period="2026-01"),
    # Offsets Python allows and PostgreSQL's input does not (found by the API fuzzer: a 500).
    rated("far-offset", started_at=dt.datetime(2898, 3, 23, 9, 37, 31, tzinfo=zone(hours=23, minutes=34))),
    rated("sub-second-offset", started_at=dt.datetime(2026, 1, 1, tzinfo=zone(hours=1, microseconds=5))),
    rated("offset-at-15:59", started_at=dt.datetime(2026, 1, 1, tzinfo=zone(hours=-15, minutes=-59))),
    rated("before-year-1-in-utc", started_at=dt.datetime(1, 1, 1, 3, tzinfo=zone(hours=23))),
    rated("after-9999-in-utc", started_at=dt.datetime(9999, 12, 31, 23, tzinfo=zone(hours=-23))),
    rated("sms", kind="sms", duration_s=None, units=Decimal("1"), billable_s=0, cost=Decimal("0.0400")),
    rated("data", kind="data", duration_s=None, units=Decimal("3141.39"), callee="internet", prefix=""),
    rated("exponent", units=Decimal("1E+2"), unit_price=Decimal("5E-6"), cost=Decimal("0E-10")),
    rated("rounded", units=Decimal("0.00005"), cost=Decimal("-0")),
    unrated("unknown", "unknown account", account="NOBODY"),
    unrated("malformed", "malformed callee 'a\\tb'", callee="a\tb", client_id=CLIENT),
    unrated("no-prefix", "no matching prefix", client_id=CLIENT, duration_s=None),
]


BEYOND_PYTHON_IN_UTC = {"before-year-1-in-utc", "after-9999-in-utc"}


class Record(NamedTuple):
    cdr_id: str
    row: tuple[Any, ...]


def test_the_usual_rated_row_is_one_exact_line_and_an_escaped_value_adds_no_column():
    """copy_line writes the usual rated row with one f-string: its every cell, in STORED_COLUMNS
    order, with the record's own offset; a value holding a tab is escaped, never a column more."""
    row = rated("plain")
    assert copy_line(row) == (
        "plain\tACME1\t2026-10-18T11:15:54+02:00\t2026-10\tvoice\t61\t\\N\t+33140000000\t+33612345678\t"
        f"{CLIENT}\tFrance mobile\t336\t0.120000\t0.0500\t61\t0.1720\t\\N"
    )
    sms = rated("sms", kind="sms", duration_s=None, units=Decimal("1"), billable_s=0)
    assert copy_line(sms).split("\t")[5:7] == ["\\N", "1"]
    # A value to escape leaves the fast path: escaped, never a column too many.
    assert copy_line(rated("a\tb")).split("\t")[0] == "a\\tb"
    assert copy_line(rated("a\tb")).count("\t") == len(STORED_COLUMNS) - 1


async def test_postgres_every_value_is_stored_as_the_binary_copy_stores_it(invoicing_pg):
    sessions = invoicing_pg.app.state.runtime.sessions
    # As text: two instants fall outside Python's datetime range once in UTC (year 0 and 10000).
    columns = ", ".join("started_at::text" if c == "started_at" else c for c in STORED_COLUMNS)
    async with sessions() as session, session.begin():
        inserted, _ = await CallRecordRepository(session).copy_call_records(
            [Record(row[0], row) for row in ROWS], lambda record: record.row
        )
        assert inserted == {row[0] for row in ROWS}
        raw = (await (await session.connection()).get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute("CREATE TEMP TABLE call_records_binary (LIKE call_records INCLUDING DEFAULTS)")
        # asyncpg's binary encoder converts to UTC in Python and cannot store these two at all.
        comparable = [row for row in ROWS if row[0] not in BEYOND_PYTHON_IN_UTC]
        await raw.copy_records_to_table("call_records_binary", records=comparable, columns=STORED_COLUMNS)
        by_text = {r[0]: tuple(r) for r in await raw.fetch(f"SELECT {columns} FROM call_records")}
        by_binary = {r[0]: tuple(r) for r in await raw.fetch(f"SELECT {columns} FROM call_records_binary")}
        assert await session.scalar(text("SELECT count(*) FROM call_records WHERE caller IS NULL")) == 0
    assert by_text.keys() == {row[0] for row in ROWS}
    assert by_binary.keys() == by_text.keys() - BEYOND_PYTHON_IN_UTC
    for cdr_id, stored in by_binary.items():
        assert by_text[cdr_id] == stored, cdr_id
    assert by_text["\\N"][0] == "\\N" and by_text["empty-caller"][7:9] == ("", "")
    assert by_text["tab\there"][8] == "new\nline"
    assert by_text["exponent"][6] == Decimal("100.0000")
    assert by_text["far-offset"][2] == "2898-03-22 10:03:31+00"
    assert by_text["before-year-1-in-utc"][2] == "0001-12-31 04:00:00+00 BC"
    assert by_text["after-9999-in-utc"][2] == "10000-01-01 22:00:00+00"


async def test_postgres_a_record_with_an_offset_postgresql_cannot_read_is_stored_by_the_api(invoicing_pg):
    """The API fuzzer's case: an offset of +23:34 (valid ISO 8601, beyond PostgreSQL's ±15:59)
    answered 500 once the rows went as text; it is stored as its instant."""
    await operator(invoicing_pg)
    records = [
        {**call("far", "ACME1", "33612345678"), "started_at": "2898-03-23T09:37:31+23:34"},
        {**call("edge", "ACME1", "33612345678"), "started_at": "0001-01-01T03:00:00+23:00"},
    ]
    answer = await invoicing_pg.http.post(
        "/api/v1/usage", json=records, headers=invoicing_pg.token("billing")
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    async with invoicing_pg.app.state.runtime.sessions() as session:
        stored = dict(
            (await session.execute(text("SELECT cdr_id, started_at::text FROM call_records"))).tuples().all()
        )
    assert stored == {"far": "2898-03-22 10:03:31+00", "edge": "0001-12-31 04:00:00+00 BC"}
