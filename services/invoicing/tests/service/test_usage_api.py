"""Call records through POST /usage and POST /usage.csv: rating, duplicates, unratable records, refusals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from invoicing_api_setup import PLAN, call, client_body, get, operator, post
from sqlalchemy import func, select

from ledgerline_invoicing.adapters.orm import CallRecordRow


async def stored(invoicing: Any) -> dict[str, CallRecordRow]:
    async with invoicing.app.state.runtime.sessions() as session:
        rows = (await session.scalars(select(CallRecordRow))).all()
    return {r.cdr_id: r for r in rows}


async def count(invoicing: Any) -> int:
    async with invoicing.app.state.runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(CallRecordRow)) or 0)


async def test_longest_prefix_wins_whatever_the_callee_notation(invoicing):
    await operator(invoicing)
    answer = await post(
        invoicing,
        "/api/v1/usage",
        [
            call("m1", "ACME1", "+33 6 12 34 56 78", 61),  # 336 beats 33
            call("m2", "ACME1", "0033612345678", 61),  # same number, international 00 form
            call("f1", "ACME1", "+33 1 40 00 00 00", 61),  # only 33 matches
        ],
        expect=200,
    )
    assert answer == {"accepted": 3, "duplicates": 0, "rejected": []}
    rows = await stored(invoicing)
    assert (rows["m1"].prefix, rows["m1"].destination) == ("336", "France mobile")
    assert rows["m2"].prefix == "336"
    assert (rows["f1"].prefix, rows["f1"].destination) == ("33", "France fixe")


@pytest.mark.parametrize(
    ("callee", "duration", "billable", "cost"),
    [
        ("33140000000", 61, 120, "0.0400"),  # 60/60: a started minute is a minute
        ("33140000000", 60, 60, "0.0200"),
        ("33612345678", 61, 61, "0.1720"),  # 1/1: per second, + 0.05 connection fee
        ("33612345678", 0, 0, "0.0000"),  # unanswered: no minute, no connection fee
        ("442071234567", 29, 30, "0.1500"),  # 30/30
        ("442071234567", 31, 60, "0.3000"),
        ("12125550100", 30, 60, "0.2000"),  # 60/1: first minute whole, + 0.10 fee
        ("12125550100", 61, 61, "0.2017"),  # then per second: 0.101666.. + 0.10, half-up
    ],
)
async def test_each_increment_rule_and_connection_fee(invoicing, callee, duration, billable, cost):
    await operator(invoicing)
    await post(invoicing, "/api/v1/usage", [call("c", "ACME1", callee, duration)], expect=200)
    row = (await stored(invoicing))["c"]
    assert row.billable_s == billable
    assert f"{row.cost:.4f}" == cost


async def test_sms_and_data_are_priced_per_unit(invoicing):
    await operator(invoicing)
    await post(
        invoicing,
        "/api/v1/usage",
        [
            call("s1", "ACME1", "+33612345678", kind="sms"),
            call("s2", "ACME1", "+33612345678", kind="sms", units="3"),
            call("d1", "ACME1", "internet", kind="data", units="12.5"),  # an APN: only the catch-all
        ],
        expect=200,
    )
    rows = await stored(invoicing)
    assert [f"{rows[c].cost:.4f}" for c in ("s1", "s2", "d1")] == ["0.0500", "0.1500", "0.1250"]
    assert rows["d1"].destination == "Data"


async def test_unratable_records_are_kept_and_reported(invoicing):
    await operator(invoicing)
    await post(invoicing, "/api/v1/clients", client_body("NOPLAN", plan=None))
    answer = await post(
        invoicing,
        "/api/v1/usage",
        [
            call("u1", "GHOST", "33612345678"),  # no such client
            call("u2", "NOPLAN", "33612345678"),  # client without a rate plan
            call("u3", "ACME1", "81312345678"),  # Japan: no matching prefix
            call("u4", "ACME1", "442071234567", kind="sms"),  # no SMS rule for the UK
            call("ok", "ACME1", "33612345678"),
        ],
        expect=200,
    )
    assert answer["accepted"] == 5 and answer["duplicates"] == 0
    reasons = {r["cdr_id"]: r["reason"] for r in answer["rejected"]}
    assert set(reasons) == {"u1", "u2", "u3", "u4"}
    assert "unknown account" in reasons["u1"] and "no rate plan" in reasons["u2"]
    assert "no matching prefix" in reasons["u3"] and "no matching prefix" in reasons["u4"]
    rows = await stored(invoicing)
    assert set(rows) == {"u1", "u2", "u3", "u4", "ok"}  # never dropped silently
    assert rows["u3"].cost is None and rows["u3"].unratable_reason == "no matching prefix"
    assert rows["ok"].unratable_reason is None


async def test_duplicates_are_counted_not_stored_twice(invoicing):
    await operator(invoicing)
    batch = [call("a", "ACME1", "33612345678", 10), call("b", "ACME1", "33612345678", 20)]
    first = await post(invoicing, "/api/v1/usage", [*batch, batch[0]], expect=200)
    assert (first["accepted"], first["duplicates"]) == (2, 1)
    again = await post(invoicing, "/api/v1/usage", [{**batch[0], "duration_s": 999}, batch[1]], expect=200)
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    rows = await stored(invoicing)
    assert len(rows) == 2 and rows["a"].duration_s == 10  # the first one received stays


def csv_of(records: list[dict[str, Any]]) -> str:
    fields = ["cdr_id", "account", "started_at", "kind", "duration_s", "units", "caller", "callee"]
    lines = [",".join(fields)]
    for r in records:
        lines.append(",".join(str(r.get(f, "")) for f in fields))
    return "\n".join(lines) + "\n"


async def test_csv_is_streamed_in_batches_and_rated(invoicing):
    await operator(invoicing)
    records = [
        call(f"csv-{i}", "ACME1", "33612345678" if i % 2 else "33140000000", 30 + i % 90)
        for i in range(12_000)
    ]  # more than one internal batch of 5,000

    async def chunks():  # a real stream, cut in the middle of lines
        body = csv_of(records).encode()
        for start in range(0, len(body), 7_777):
            yield body[start : start + 7_777]

    answer = await invoicing.http.post(
        "/api/v1/usage.csv", content=chunks(), headers=invoicing.token("billing")
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 12_000, "duplicates": 0, "rejected": []}
    rows = await stored(invoicing)
    assert rows["csv-1"].prefix == "336" and rows["csv-2"].prefix == "33"
    expected = sum(
        (Decimal(30 + i % 90) * Decimal("0.12") / 60 + Decimal("0.05")).quantize(Decimal("0.0001"))
        for i in range(1, 12_000, 2)
    )
    assert sum(rows[f"csv-{i}"].cost or Decimal(0) for i in range(1, 12_000, 2)) == expected
    repeat = await invoicing.http.post(
        "/api/v1/usage.csv", content=csv_of(records[:10]), headers=invoicing.token("billing")
    )
    assert repeat.json() == {"accepted": 0, "duplicates": 10, "rejected": []}


async def test_csv_rejects_a_malformed_row_and_keeps_the_others(invoicing):
    await operator(invoicing)
    good = call("g1", "ACME1", "33612345678")
    text = csv_of(
        [
            good,
            {**good, "cdr_id": "bad-date", "started_at": "10/03/2026"},
            {**good, "cdr_id": "bad-kind", "kind": "fax"},
        ]
    )
    answer = await invoicing.http.post("/api/v1/usage.csv", content=text, headers=invoicing.token("billing"))
    assert answer.status_code == 200
    body = answer.json()
    assert body["accepted"] == 1
    reasons = {r["cdr_id"]: r["reason"] for r in body["rejected"]}
    assert reasons["bad-date"].startswith("started_at") and reasons["bad-kind"].startswith("kind")
    assert set(await stored(invoicing)) == {"g1"}


async def test_csv_that_is_not_utf8_is_refused_and_the_lines_before_it_are_kept(invoicing):
    await operator(invoicing)
    good = [call(f"u{i}", "ACME1", "33612345678") for i in range(3)]
    body = csv_of(good).encode() + b"u3,ACME1,2026-03-10T10:00:00+01:00,voice,60,,,33\xff612\n"
    answer = await invoicing.http.post("/api/v1/usage.csv", content=body, headers=invoicing.token("billing"))
    assert answer.status_code == 422, answer.text
    assert "line 5 is not UTF-8" in answer.json()["detail"]
    assert set(await stored(invoicing)) == {"u0", "u1", "u2"}
    # A body that ends inside a character: its last line is refused the same way.
    cut = csv_of([call("v1", "ACME1", "33612345678")]).encode() + b"v2,ACME1,\xc3"
    answer = await invoicing.http.post("/api/v1/usage.csv", content=cut, headers=invoicing.token("billing"))
    assert answer.status_code == 422, answer.text
    assert "line 3 is not UTF-8" in answer.json()["detail"]
    assert set(await stored(invoicing)) == {"u0", "u1", "u2", "v1"}


async def test_csv_reads_quoted_fields_crlf_lines_and_columns_in_any_order(invoicing):
    await operator(invoicing)
    body = (
        "callee,kind,started_at,account,cdr_id,duration_s,note\r\n"
        '"+33 6 12 34 56 78",voice,2026-03-10T10:00:00+01:00,ACME1,"q,1",61,"a ""quoted"" note"\r\n'
        "\r\n"
        "33140000000,voice,2026-03-10T11:00:00+01:00,ACME1,q2,60,\r\n"
    )
    answer = await invoicing.http.post("/api/v1/usage.csv", content=body, headers=invoicing.token("billing"))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    rows = await stored(invoicing)
    assert (rows["q,1"].callee, rows["q,1"].prefix, rows["q,1"].duration_s) == (
        "+33 6 12 34 56 78",
        "336",
        61,
    )
    assert (rows["q2"].prefix, rows["q2"].units, rows["q2"].caller) == ("33", None, "")


async def test_csv_without_the_required_columns_is_refused(invoicing):
    answer = await invoicing.http.post(
        "/api/v1/usage.csv", content="cdr_id,account\nx,ACME1\n", headers=invoicing.token("billing")
    )
    assert answer.status_code == 422
    assert "started_at" in answer.text and "kind" in answer.text
    assert await count(invoicing) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "fax"}, "kind"),
        ({"started_at": "2026-13-45T10:00:00+01:00"}, "started_at"),
        ({"duration_s": -5}, "duration_s"),
        ({"units": 1.5, "kind": "data"}, "units"),  # a float amount
        ({"cdr_id": ""}, "cdr_id"),
    ],
)
async def test_malformed_json_batch_is_refused_whole_naming_the_field(invoicing, change, field):
    await operator(invoicing)
    batch = [call("ok", "ACME1", "33612345678"), {**call("bad", "ACME1", "33612345678"), **change}]
    answer = await invoicing.http.post("/api/v1/usage", json=batch, headers=invoicing.token("billing"))
    assert answer.status_code == 422
    assert field in answer.json()["detail"][0]["loc"]
    assert await count(invoicing) == 0


async def test_a_time_without_offset_is_refused(invoicing):
    await operator(invoicing)
    answer = await post(
        invoicing,
        "/api/v1/usage",
        [
            call("naive", "ACME1", "33612345678", started_at="2026-03-10T10:00:00"),
            call("aware", "ACME1", "33612345678"),
        ],
        expect=200,
    )
    assert answer["accepted"] == 1
    assert answer["rejected"][0]["cdr_id"] == "naive" and "started_at" in answer["rejected"][0]["reason"]
    assert set(await stored(invoicing)) == {"aware"}


async def test_the_period_is_the_month_in_the_records_own_offset(invoicing):
    await operator(invoicing)
    await post(
        invoicing,
        "/api/v1/usage",
        [
            call("eve", "ACME1", "33612345678", started_at="2026-03-31T23:30:00+02:00"),  # 21:30 UTC
            call(
                "dawn", "ACME1", "33612345678", started_at="2026-04-01T00:30:00+02:00"
            ),  # 22:30 UTC in March
        ],
        expect=200,
    )
    rows = await stored(invoicing)
    assert (rows["eve"].period, rows["dawn"].period) == ("2026-03", "2026-04")


async def test_oversized_json_batch_is_refused(invoicing):
    batch = [call(f"x{i}", "ACME1", "33612345678") for i in range(10_001)]
    answer = await invoicing.http.post("/api/v1/usage", json=batch, headers=invoicing.token("billing"))
    assert answer.status_code == 413 and "10000" in answer.text
    assert await count(invoicing) == 0


async def test_usage_needs_a_writer(invoicing):
    batch = [call("x", "ACME1", "33612345678")]
    assert (await invoicing.http.post("/api/v1/usage", json=batch)).status_code == 401
    answer = await invoicing.http.post("/api/v1/usage", json=batch, headers=invoicing.token("accounting"))
    assert answer.status_code == 403
    assert await count(invoicing) == 0


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"increment": "60"}, "increment"),
        ({"increment": "0/60"}, "increment"),
        ({"prefix": "+33"}, "prefix"),
        ({"unit_price": "-0.10"}, "unit_price"),
        ({"unit_price": "abc"}, "unit_price"),
        ({"kind": "fax"}, "kind"),
        ({"connection_fee": 0.05}, "connection_fee"),
    ],
)
async def test_malformed_rate_plan_is_refused_naming_the_field(invoicing, rule, field):
    plan = {"code": "BAD", "rules": [{**PLAN["rules"][0], **rule}]}
    answer = await invoicing.http.post("/api/v1/rate-plans", json=plan, headers=invoicing.token("billing"))
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["detail"][0]["loc"]
    assert await get(invoicing, "/api/v1/rate-plans") == []


async def test_a_prefix_twice_for_the_same_kind_is_refused(invoicing):
    rule = PLAN["rules"][0]
    plan = {"code": "TWICE", "rules": [rule, {**rule, "label": "Autre"}]}
    answer = await invoicing.http.post("/api/v1/rate-plans", json=plan, headers=invoicing.token("billing"))
    assert answer.status_code == 422
    assert "prefix" in answer.json()["detail"][0]["loc"]
    assert await get(invoicing, "/api/v1/rate-plans") == []


async def test_postgres_ingestion_by_copy_rates_keeps_unratable_and_ignores_duplicates(invoicing_pg):
    await operator(invoicing_pg)
    batch = [
        call("p1", "ACME1", "+33 6 12 34 56 78", 61),
        call("p2", "ACME1", "33140000000", 61),
        call("p3", "GHOST", "33612345678"),
        call("p4", "ACME1", "internet", kind="data", units="2.5"),
    ]
    first = await post(invoicing_pg, "/api/v1/usage", [*batch, batch[0]], expect=200)
    assert (first["accepted"], first["duplicates"]) == (4, 1)
    assert [r["cdr_id"] for r in first["rejected"]] == ["p3"]
    again = await invoicing_pg.http.post(
        "/api/v1/usage.csv",
        content=csv_of([*batch, call("p5", "ACME1", "1212")]),
        headers=invoicing_pg.token("billing"),
    )
    assert again.json() == {"accepted": 1, "duplicates": 4, "rejected": []}
    rows = await stored(invoicing_pg)
    assert [f"{rows[c].cost:.4f}" for c in ("p1", "p2", "p4")] == ["0.1720", "0.0400", "0.0250"]
    assert rows["p3"].unratable_reason == "unknown account" and len(rows) == 5
