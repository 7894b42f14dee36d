"""Billing runs through the HTTP API: preview, production, idempotence, failures, progress, refusals."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from invoicing_api_setup import call, get, operator, post, run
from sqlalchemy import func, select, update

from ledgerline_invoicing.adapters.orm import BillingRunRow, CallRecordRow, NumberSequenceRow, SubscriptionRow

PERIOD = "2026-03"
IN_PERIOD = "2026-03-15T09:30:00+01:00"


async def folder(invoicing: Any, clients: int = 2) -> list[dict[str, Any]]:
    """Each client: 2 lines at 25.00, a setup fee once, a 10.00 credit once, two calls of March."""
    made = await operator(invoicing, clients)
    for n, client in enumerate(made, start=1):
        cid = client["id"]
        await post(
            invoicing,
            f"/api/v1/clients/{cid}/subscriptions",
            {"article_code": "LINE", "quantity": "2", "start_date": "2026-01-01"},
        )
        await post(
            invoicing, f"/api/v1/clients/{cid}/one-time-items", {"article_code": "SETUP", "quantity": "1"}
        )
        await post(
            invoicing,
            f"/api/v1/clients/{cid}/one-time-items",
            {"article_code": "AVOIR", "quantity": "1", "label": "Geste commercial panne"},
        )
        await post(
            invoicing,
            "/api/v1/usage",
            [
                call(f"{n}-fix", client["code"], "33140000000", 61, started_at=IN_PERIOD),  # 2 min x 0.02
                call(
                    f"{n}-mob", client["code"], "33612345678", 60, started_at=IN_PERIOD
                ),  # 1 min x 0.12 + 0.05
                call(f"{n}-apr", client["code"], "33612345678", 60, started_at="2026-04-01T08:00:00+02:00"),
            ],
            expect=200,
        )
    return made


async def db_count(invoicing: Any, model: Any, *where: Any) -> int:
    async with invoicing.app.state.runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_preview_computes_every_invoice_unnumbered_and_is_replaced_by_a_rerun(invoicing):
    clients = await folder(invoicing)
    state = await run(invoicing, PERIOD, "preview")
    assert state["status"] == "completed" and state["progress"] == {"done": 2, "total": 2}
    assert state["errors"] == []
    previews = await get(invoicing, "/api/v1/previews", period=PERIOD)
    assert [p["client_code"] for p in previews] == ["ACME1", "ACME2"]
    assert all(p["number"] is None and p["status"] == "preview" for p in previews)
    assert {p["gross_total"] for p in previews} == {"107.05"}  # (50 + 49 - 10 + 0.21) x 1.2, VAT on the sum
    assert sorted(state["documents"]) == sorted(p["id"] for p in previews)
    assert len(await invoicing.outbox("invoice.preview.created")) == 2

    again = await run(invoicing, PERIOD, "preview")
    replaced = await get(invoicing, "/api/v1/previews", period=PERIOD)
    assert len(replaced) == 2 and sorted(again["documents"]) == sorted(p["id"] for p in replaced)
    assert not {p["id"] for p in replaced} & {p["id"] for p in previews}
    # A preview consumes nothing and numbers nothing.
    items = await get(invoicing, f"/api/v1/clients/{clients[0]['id']}/one-time-items")
    assert all(i["active"] and i["billed_by"] is None for i in items)
    assert await db_count(invoicing, NumberSequenceRow) == 0
    assert await db_count(invoicing, CallRecordRow, CallRecordRow.invoice_number.is_not(None)) == 0
    assert (await get(invoicing, "/api/v1/invoices", month=dt.date.today().strftime("%Y-%m")))["total"] == 0


async def test_production_numbers_issues_attaches_calls_and_consumes_items(invoicing):
    clients = await folder(invoicing)
    state = await run(invoicing, PERIOD, "production")
    assert state["status"] == "completed" and state["errors"] == []
    today = dt.date.today()
    numbers = [f"F{today.year}-000001", f"F{today.year}-000002"]
    assert sorted(state["documents"]) == numbers
    detail = await get(invoicing, f"/api/v1/invoices/{numbers[0]}")
    assert detail["issue_date"] == today.isoformat()
    assert detail["due_date"] == (today + dt.timedelta(days=30)).isoformat()
    assert detail["period"] == PERIOD and detail["status"] == "issued" and detail["gross_total"] == "107.05"
    # The March calls are attached to the invoice, April's are left for the next cycle.
    consumption = await get(invoicing, f"/api/v1/invoices/{numbers[0]}/consumption")
    assert sorted(c["cdr_id"] for c in consumption["items"]) == ["1-fix", "1-mob"]
    assert await db_count(invoicing, CallRecordRow, CallRecordRow.invoice_number.is_(None)) == 2
    # Items billed once are deactivated and point at the invoice.
    items = await get(invoicing, f"/api/v1/clients/{clients[0]['id']}/one-time-items")
    assert [(i["active"], i["billed_by"]) for i in items] == [(False, numbers[0])] * 2
    issued = await invoicing.outbox("invoice.issued")
    assert sorted(e["key"] for e in issued) == numbers
    assert {e["data"]["number"] for e in issued} == set(numbers)
    assert issued[0]["data"]["type"] == "invoice" and issued[0]["data"]["totals"]["gross_total"] == "107.05"


async def test_production_repeated_for_the_same_period_bills_nothing_twice(invoicing):
    await folder(invoicing)
    first = await run(invoicing, PERIOD, "production")
    second = await run(invoicing, PERIOD, "production")
    assert len(first["documents"]) == 2
    assert second["status"] == "completed" and second["documents"] == []
    billed = [(await get(invoicing, f"/api/v1/invoices/{n}"))["client_id"] for n in first["documents"]]
    assert sorted(s["client_id"] for s in second["report"]["skipped"]) == sorted(billed)
    assert len(await invoicing.outbox("invoice.issued")) == 2
    async with invoicing.app.state.runtime.sessions() as session:
        assert (await session.scalar(select(NumberSequenceRow.last))) == 2  # no number burnt


async def test_every_cycle_item_is_billed_again_next_cycle(invoicing):
    (client,) = await operator(invoicing, 1)
    item = await post(
        invoicing,
        f"/api/v1/clients/{client['id']}/one-time-items",
        {"article_code": "AVOIR", "quantity": "1", "unit_price": "-5.00", "repeat": "every_cycle"},
    )
    await post(
        invoicing,
        f"/api/v1/clients/{client['id']}/subscriptions",
        {"article_code": "LINE", "quantity": "1", "start_date": "2026-01-01"},
    )
    march = await run(invoicing, "2026-03", "production")
    april = await run(invoicing, "2026-04", "production")
    assert len(march["documents"]) == 1 and len(april["documents"]) == 1
    assert march["report"]["every_cycle_credit_notes"][0]["item_id"] == item["id"]
    (listed,) = await get(invoicing, f"/api/v1/clients/{client['id']}/one-time-items")
    assert listed["active"] is True and listed["billed_by"] == april["documents"][0]
    for number in (*march["documents"], *april["documents"]):
        assert (await get(invoicing, f"/api/v1/invoices/{number}"))["net_total"] == "20.00"


async def test_one_failing_client_is_reported_and_the_others_are_billed(invoicing):
    clients = await folder(invoicing, clients=3)
    broken = clients[1]["id"]
    async with invoicing.app.state.runtime.sessions() as session, session.begin():
        # Data the API would never accept (a negative quantity) makes this one client fail.
        await session.execute(
            update(SubscriptionRow).where(SubscriptionRow.client_id == broken).values(quantity=-1)
        )
    state = await run(invoicing, PERIOD, "production")
    assert state["status"] == "completed" and state["progress"] == {"done": 3, "total": 3}
    assert [e["client_id"] for e in state["errors"]] == [broken]
    assert state["errors"][0]["error"]
    year = dt.date.today().year
    assert sorted(state["documents"]) == [f"F{year}-000001", f"F{year}-000002"]  # the failure burnt no number
    assert {(await get(invoicing, f"/api/v1/invoices/{n}"))["client_id"] for n in state["documents"]} == {
        clients[0]["id"],
        clients[2]["id"],
    }
    # The failed client's items and calls are untouched, ready for a rerun once fixed.
    items = await get(invoicing, f"/api/v1/clients/{broken}/one-time-items")
    assert all(i["active"] for i in items)


async def test_unrated_records_and_unknown_clients_are_reported_by_the_run(invoicing):
    (client,) = await operator(invoicing, 1)
    await post(
        invoicing,
        "/api/v1/usage",
        [
            call("ok", "ACME1", "33612345678", started_at=IN_PERIOD),
            call("jp", "ACME1", "81312345678", started_at=IN_PERIOD),
        ],
        expect=200,
    )
    state = await run(invoicing, PERIOD, "production", client_ids=[client["id"], "no-such-client"])
    assert state["report"]["unrated_call_records"] == [
        {"client_id": client["id"], "cdr_id": "jp", "reason": "no matching prefix"}
    ]
    assert state["errors"] == [{"client_id": "no-such-client", "error": "unknown client"}]
    assert len(state["documents"]) == 1


async def test_a_client_with_nothing_to_bill_is_skipped(invoicing):
    await operator(invoicing, 1)
    state = await run(invoicing, PERIOD, "production")
    assert state["documents"] == [] and state["report"]["skipped"][0]["reason"] == "nothing to bill"
    assert await db_count(invoicing, NumberSequenceRow) == 0


async def test_run_is_a_job_with_progress(invoicing):
    await folder(invoicing, clients=2)
    started = await post(invoicing, "/api/v1/billing-runs", {"period": PERIOD, "mode": "preview"}, expect=202)
    assert started["status"] == "queued"
    await invoicing.app.state.billing_runner.wait(started["id"])
    state = await get(invoicing, f"/api/v1/billing-runs/{started['id']}")
    assert state["status"] == "completed" and state["finished_at"] is not None
    assert state["progress"] == {"done": 2, "total": 2}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"period": "2026-13", "mode": "production"}, "period"),
        ({"period": "03/2026", "mode": "production"}, "period"),
        ({"period": "2026-03", "mode": "final"}, "mode"),
        ({"period": "2026-03", "mode": "production", "client_ids": "ACME1"}, "client_ids"),
        ({"mode": "production"}, "period"),
    ],
)
async def test_malformed_run_request_is_refused_naming_the_field(invoicing, body, field):
    answer = await invoicing.http.post("/api/v1/billing-runs", json=body, headers=invoicing.token("billing"))
    assert answer.status_code == 422
    assert field in answer.json()["detail"][0]["loc"]
    assert await db_count(invoicing, BillingRunRow) == 0


async def test_runs_need_a_writer_and_unknown_runs_are_404(invoicing):
    body = {"period": PERIOD, "mode": "production"}
    answer = await invoicing.http.post(
        "/api/v1/billing-runs", json=body, headers=invoicing.token("accounting")
    )
    assert answer.status_code == 403
    assert await db_count(invoicing, BillingRunRow) == 0
    missing = await invoicing.http.get("/api/v1/billing-runs/nope", headers=invoicing.token("readonly"))
    assert missing.status_code == 404 and "run_id" in missing.json()["detail"][0]["loc"]
