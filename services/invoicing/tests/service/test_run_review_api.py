"""A preview run's review and its four-eyes approval through the HTTP API (issue 15).

The operator: February produced for five clients, then March previewed with one client tripping
each flag. The review's counts are checked against the previews themselves, the approval rules
against the production runs they admit or refuse (409, or a dead letter on the topic).
"""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace
from typing import Any

import pytest
from invoicing_api_setup import call, client_body, get, operator, post, run
from invoicing_kafka_recorder import KafkaRecorder
from sqlalchemy import func, select

from ledgerline_invoicing.adapters.orm import BillingRunApprovalRow, BillingRunRow, DocumentRow
from ledgerline_invoicing.service import run_approval
from ledgerline_invoicing.service.commands import RequestBillingRun
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_shared.cloudevents import Envelope
from ledgerline_shared.contracts.events import BillingMode, BillingRunRequested
from ledgerline_shared.messaging.consumer import Inbound, PermanentError
from ledgerline_shared.topics import BILLING_RUN_REQUESTED

FEB, MARCH = "2026-02", "2026-03"
IN_FEB, IN_MARCH = "2026-02-10T10:00:00+01:00", "2026-03-10T10:00:00+01:00"


def bob(invoicing: Any) -> dict[str, str]:
    """A second person of the billing team (the helpers act as alice)."""
    return invoicing.token("billing", sub="bob")


async def subscribe(invoicing: Any, client_id: str, quantity: str = "1", start: str = "2026-01-01") -> Any:
    return await post(
        invoicing,
        f"/api/v1/clients/{client_id}/subscriptions",
        {"article_code": "LINE", "quantity": quantity, "start_date": start},
    )


async def operator_with_history(invoicing: Any) -> dict[str, dict[str, Any]]:
    """ACME1..5 billed in February (one line, a fixed call each), then their March folders:
    ACME1 unchanged, ACME2 three more lines (total change), ACME3 no March call (feed missing) and a
    call to nowhere (unrated), ACME4 no invoice recipient and a credit repeated every cycle, ACME5 a
    usage spike and a credit beyond its total (negative); NEWCO a large first invoice."""
    made = {c["code"]: c for c in await operator(invoicing, 5)}
    for n, client in enumerate(made.values(), start=1):
        await subscribe(invoicing, client["id"])
        await post(
            invoicing,
            "/api/v1/usage",
            [call(f"feb-{n}", client["code"], "33140000000", 60, started_at=IN_FEB)],
            200,
        )
    assert len((await run(invoicing, FEB, "production"))["documents"]) == 5
    for n in (1, 2, 4, 5):
        code = f"ACME{n}"
        await post(
            invoicing, "/api/v1/usage", [call(f"mar-{n}", code, "33140000000", 60, started_at=IN_MARCH)], 200
        )
    await subscribe(invoicing, made["ACME2"]["id"], quantity="3")
    await post(
        invoicing,
        "/api/v1/usage",
        [call("mar-3-nowhere", "ACME3", "99912345", 60, started_at="2026-02-27T10:00:00+01:00")],
        200,
    )
    contacts = await get(invoicing, f"/api/v1/clients/{made['ACME4']['id']}/contacts")
    answer = await invoicing.http.patch(
        f"/api/v1/contacts/{contacts[0]['id']}",
        json={"invoice_recipient": False},
        headers=invoicing.token("billing"),
    )
    assert answer.status_code == 200, answer.text
    await post(
        invoicing,
        f"/api/v1/clients/{made['ACME4']['id']}/one-time-items",
        {"article_code": "AVOIR", "quantity": "1", "unit_price": "-2.00", "repeat": "every_cycle"},
    )
    # ACME5: 60 minutes to the UK at 0.30 a minute: 18.02 of usage with its fixed call, against 0.02.
    await post(
        invoicing,
        "/api/v1/usage",
        [call(f"mar-5-uk-{i}", "ACME5", "447700900000", 600, started_at=IN_MARCH) for i in range(6)],
        200,
    )
    await post(
        invoicing,
        f"/api/v1/clients/{made['ACME5']['id']}/one-time-items",
        {"article_code": "AVOIR", "quantity": "1", "unit_price": "-80.00"},
    )
    newco = await post(invoicing, "/api/v1/clients", client_body("NEWCO", '=HYPERLINK("http://x")'))
    await post(
        invoicing,
        f"/api/v1/clients/{newco['id']}/contacts",
        {"name": "Accounts", "email": "ap@newco.test", "invoice_recipient": True},
    )
    await subscribe(invoicing, newco["id"], quantity="30")
    await post(
        invoicing, "/api/v1/usage", [call("mar-new", "NEWCO", "33140000000", 60, started_at=IN_MARCH)], 200
    )
    made["NEWCO"] = newco
    return made


async def review_of(invoicing: Any, run_id: str, **params: Any) -> dict[str, Any]:
    review: dict[str, Any] = await get(invoicing, f"/api/v1/billing-runs/{run_id}/review", **params)
    return review


async def test_the_review_flags_each_case_and_its_counts_match_the_previews(invoicing):
    await operator_with_history(invoicing)
    preview = await run(invoicing, MARCH, "preview")
    review = await review_of(invoicing, preview["id"])
    previews = await get(invoicing, "/api/v1/previews", period=MARCH)
    assert review["previews"] == len(previews) == 6 and review["started_by"] == "alice"

    by_client = {
        item["client_code"]: {f["code"] for f in item["flags"]} for item in review["flagged"]["items"]
    }
    assert by_client == {
        "ACME2": {"total_change"},
        "ACME3": {"no_call_records", "unrated_call_records"},
        "ACME4": {"no_invoice_recipient", "every_cycle_credit"},
        "ACME5": {"usage_spike", "non_positive_total", "total_change"},
        "NEWCO": {"large_first_invoice"},
    }
    # The counts are those of the previews' flags, each code present.
    expected = {code: sum(code in flags for flags in by_client.values()) for code in review["counts"]}
    assert review["counts"] == expected and len(review["counts"]) == 8
    assert review["flagged_previews"] == review["flagged"]["total"] == 5
    # By impact: NEWCO's 900.00, then ACME2's +60.00 change, ...; ACME1 (nothing odd) is not listed.
    impacts = [item["impact"] for item in review["flagged"]["items"]]
    assert (
        impacts == sorted(impacts, key=lambda v: -float(v))
        and review["flagged"]["items"][0]["client_code"] == "NEWCO"
    )
    gross = {p["client_code"]: p["gross_total"] for p in previews}
    assert all(item["gross_total"] == gross[item["client_code"]] for item in review["flagged"]["items"])
    spike = next(f for i in review["flagged"]["items"] for f in i["flags"] if f["code"] == "usage_spike")
    newco, acme2 = review["flagged"]["items"][0], review["flagged"]["items"][1]
    assert newco["last_invoice"] is None and acme2["client_code"] == "ACME2"
    assert acme2["last_invoice"]["period"] == FEB and acme2["last_invoice"]["gross_total"] == "30.02"
    assert spike["figures"]["usage"] == "18.02" and spike["figures"]["average"] == "0.02"
    assert spike["sentence"].startswith("Usage charges of 18.02 EUR are over 3 times the average")
    assert (
        "no_invoice_recipient" not in review["blocking_flags"] and "total_change" in review["blocking_flags"]
    )

    # One flag's previews only, a page at a time.
    only = await review_of(invoicing, preview["id"], flag="total_change", page_size=1)
    assert only["flagged"]["total"] == 2 and [i["client_code"] for i in only["flagged"]["items"]] == ["ACME2"]

    # Totals against February's production, per family and VAT rate.
    comparison = review["totals_against_previous_period"]
    assert comparison["previous_period"] == FEB and comparison["previous_run_id"] is not None
    recurring = next(r for r in comparison["rows"] if r["family"] == "recurring")
    assert recurring == {
        "currency": "EUR",
        "family": "recurring",
        "vat_rate": "20.00",
        "net": "950.00",  # 5 x 25 + 3 x 25 + 30 x 25
        "previous_net": "125.00",
        "change": "825.00",
        "change_percent": "660.0",
    }


async def test_the_review_csv_lists_each_flag_and_neutralises_formulas(invoicing):
    await operator_with_history(invoicing)
    preview = await run(invoicing, MARCH, "preview")
    answer = await invoicing.http.get(
        f"/api/v1/billing-runs/{preview['id']}/review.csv", headers=invoicing.token("accounting")
    )
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0][:3] == ["client_code", "client_name", "document_id"]
    review = await review_of(invoicing, preview["id"])
    assert len(rows) - 1 == sum(review["counts"].values())
    newco = next(r for r in rows if r[0] == "NEWCO")
    assert newco[1] == '\'=HYPERLINK("http://x")' and newco[6] == "large_first_invoice"
    negative = next(r for r in rows if r[0] == "ACME5" and r[6] == "non_positive_total")
    assert negative[4].startswith("-")  # an amount stays a number, never neutralised text


async def test_only_a_completed_preview_run_has_a_review(invoicing):
    await operator(invoicing, 1)
    production = await run(invoicing, FEB, "production")
    answer = await invoicing.http.get(
        f"/api/v1/billing-runs/{production['id']}/review", headers=invoicing.token("readonly")
    )
    assert answer.status_code == 409 and "only a preview run" in answer.json()["detail"][0]["msg"]
    answer = await invoicing.http.get("/api/v1/billing-runs/nope/review", headers=invoicing.token("readonly"))
    assert answer.status_code == 404


async def test_billing_runs_are_listed_newest_first_and_filtered(invoicing):
    await operator(invoicing, 1)
    first = await run(invoicing, FEB, "preview")
    second = await run(invoicing, MARCH, "preview")
    third = await run(invoicing, FEB, "production")
    listed = await get(invoicing, "/api/v1/billing-runs")
    assert listed["total"] == 3 and [r["id"] for r in listed["items"]] == [
        third["id"],
        second["id"],
        first["id"],
    ]
    previews = await get(invoicing, "/api/v1/billing-runs", mode="preview", page_size=1, page=2)
    assert previews["total"] == 2 and [r["id"] for r in previews["items"]] == [first["id"]]
    feb = await get(invoicing, "/api/v1/billing-runs", period=FEB)
    assert {r["id"] for r in feb["items"]} == {first["id"], third["id"]}
    answer = await invoicing.http.get(
        "/api/v1/billing-runs", params={"mode": "x"}, headers=invoicing.token("readonly")
    )
    assert answer.status_code == 422


# -- four eyes ---------------------------------------------------------------------------------------
async def approvals(invoicing: Any) -> int:
    async with invoicing.app.state.runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(BillingRunApprovalRow)) or 0)


async def approve(invoicing: Any, run_id: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    return await invoicing.http.post(f"/api/v1/billing-runs/{run_id}/approve", json=body, headers=headers)


async def produce(invoicing: Any, period: str = MARCH, **extra: Any) -> Any:
    """Ask for a production run; one accepted (202) is waited for. A test that ended with the run
    still going stopped the service mid-run, and on SQLite that stop can wait out the 30 s busy
    timeout (six teardowns of 30.1 s each in one loaded CI run)."""
    answer = await invoicing.http.post(
        "/api/v1/billing-runs",
        json={"period": period, "mode": "production", **extra},
        headers=invoicing.token("billing"),
    )
    if answer.status_code == 202:
        await invoicing.app.state.billing_runner.wait(answer.json()["id"])
    return answer


def require_approval(invoicing: Any) -> None:
    """Switched on once February is produced (the app's and the runner's settings object)."""
    invoicing.settings.run_approval_required = True


async def test_approving_your_own_preview_is_refused(invoicing):
    await operator_with_history(invoicing)
    require_approval(invoicing)
    preview = await run(invoicing, MARCH, "preview")  # started by alice
    answer = await approve(invoicing, preview["id"], {"comment": "all good"}, invoicing.token("billing"))
    assert answer.status_code == 403
    assert "a second person must approve it" in answer.json()["detail"][0]["msg"]
    # Nor can a reader approve, nor anyone approve blocking flags without a word.
    assert (
        await approve(invoicing, preview["id"], {"comment": "x"}, invoicing.token("readonly", sub="r"))
    ).status_code == 403
    refused = await approve(
        invoicing, preview["id"], {"acknowledged_flags": ["total_change"]}, bob(invoicing)
    )
    assert refused.status_code == 422 and "acknowledge each of them or write a comment" in refused.text
    assert (
        await approve(invoicing, preview["id"], {"acknowledged_flags": ["bogus"]}, bob(invoicing))
    ).status_code == 422
    assert await approvals(invoicing) == 0
    assert (await produce(invoicing)).status_code == 409


async def test_production_without_approval_is_409_and_with_it_passes(invoicing):
    await operator_with_history(invoicing)
    require_approval(invoicing)
    refused = await produce(invoicing)
    assert refused.status_code == 409
    assert refused.json()["detail"][0]["msg"].startswith("Production of 2026-03 needs an approved preview")
    async with invoicing.app.state.runtime.sessions() as session:  # nothing started, nothing billed
        assert (
            await session.scalar(
                select(func.count()).select_from(BillingRunRow).where(BillingRunRow.period == MARCH)
            )
            == 0
        )
    preview = await run(invoicing, MARCH, "preview")
    blocking = (await review_of(invoicing, preview["id"]))["blocking_flags"]
    answer = await approve(invoicing, preview["id"], {"acknowledged_flags": blocking}, bob(invoicing))
    assert answer.status_code == 201, answer.text
    approval = answer.json()
    assert approval["approved_by"] == "bob" and approval["stands"] and len(approval["previews_hash"]) == 64
    assert approval["flag_counts"]["total_change"] == 2 and approval["previews"] == 6

    started = await produce(invoicing)
    assert started.status_code == 202, started.text
    await invoicing.app.state.billing_runner.wait(started.json()["id"])
    state = await get(invoicing, f"/api/v1/billing-runs/{started.json()['id']}")
    assert state["status"] == "completed" and len(state["documents"]) == 6
    (kept,) = await get(invoicing, f"/api/v1/billing-runs/{preview['id']}/approvals")
    assert kept["production_run_id"] == started.json()["id"] and kept["approved_by"] == "bob"
    # Production consumed the inputs approved: the approval is spent, a second run needs a new one.
    assert not kept["stands"] and "changed since" in kept["why_not"]
    assert (await produce(invoicing)).status_code == 409


@pytest.mark.parametrize("change", ["call record", "subscription", "one-time item", "new preview"])
async def test_a_change_after_approval_voids_it(invoicing, change):
    made = await operator_with_history(invoicing)
    require_approval(invoicing)
    preview = await run(invoicing, MARCH, "preview")
    assert (
        await approve(invoicing, preview["id"], {"comment": "checked with sales"}, bob(invoicing))
    ).status_code == 201
    acme1 = made["ACME1"]
    if change == "call record":
        await post(
            invoicing, "/api/v1/usage", [call("late", "ACME1", "33140000000", 60, started_at=IN_MARCH)], 200
        )
        words = "the call records of 2026-03 changed since"
    elif change == "subscription":
        await subscribe(invoicing, acme1["id"])
        words = "the subscriptions of 2026-03 changed since"
    elif change == "one-time item":
        item = await post(
            invoicing,
            f"/api/v1/clients/{acme1['id']}/one-time-items",
            {"article_code": "SETUP", "quantity": "1"},
        )
        answer = await invoicing.http.patch(
            f"/api/v1/one-time-items/{item['id']}", json={"active": False}, headers=invoicing.token("billing")
        )
        assert answer.status_code == 200
        words = "the one-time items of 2026-03 changed since"
    else:
        await run(invoicing, MARCH, "preview", [acme1["id"]])
        words = "its previews were replaced by a later preview run"
    refused = await produce(invoicing)
    assert refused.status_code == 409 and words in refused.json()["detail"][0]["msg"], refused.text
    (kept,) = await get(invoicing, f"/api/v1/billing-runs/{preview['id']}/approvals")
    assert not kept["stands"] and words in kept["why_not"] and kept["comment"] == "checked with sales"
    async with invoicing.app.state.runtime.sessions() as session:
        assert (
            await session.scalar(
                select(func.count())
                .select_from(DocumentRow)
                .where(DocumentRow.type == "invoice", DocumentRow.period == MARCH)
            )
            == 0
        )
    # A new preview, approved by someone else than its starter, admits production again.
    again = await run(invoicing, MARCH, "preview")
    assert (
        await approve(invoicing, again["id"], {"comment": "re-checked"}, bob(invoicing))
    ).status_code == 201
    assert (await produce(invoicing)).status_code == 202


async def test_a_preview_run_partly_replaced_cannot_be_approved(invoicing):
    made = await operator_with_history(invoicing)
    require_approval(invoicing)
    whole = await run(invoicing, MARCH, "preview")
    await run(invoicing, MARCH, "preview", [made["ACME2"]["id"]])  # ACME2 previewed again
    refused = await approve(invoicing, whole["id"], {"comment": "ok"}, bob(invoicing))
    assert refused.status_code == 409 and "replaced by a later preview run" in refused.text
    assert await approvals(invoicing) == 0


async def test_an_approval_of_some_clients_admits_only_their_production(invoicing):
    made = await operator_with_history(invoicing)
    require_approval(invoicing)
    ids = [made["ACME1"]["id"]]
    preview = await run(invoicing, MARCH, "preview", ids)
    assert (
        await approve(invoicing, preview["id"], {}, bob(invoicing))
    ).status_code == 201  # no blocking flag
    assert (await produce(invoicing)).status_code == 409
    assert (
        await produce(invoicing, client_ids=[made["ACME1"]["id"], made["ACME2"]["id"]])
    ).status_code == 409
    assert (await produce(invoicing, client_ids=ids)).status_code == 202


async def test_a_queued_production_run_is_checked_again_when_it_starts(invoicing):
    await operator_with_history(invoicing)
    require_approval(invoicing)
    preview = await run(invoicing, MARCH, "preview")
    assert (await approve(invoicing, preview["id"], {"comment": "ok"}, bob(invoicing))).status_code == 201
    runtime = invoicing.app.state.runtime
    run_id = await run_approval.request_run(  # asked for while the approval stood
        InvoicingUnitOfWork(runtime.sessions, runtime.event_sink),
        invoicing.settings,
        RequestBillingRun(period=MARCH, mode="production", requested_by="alice"),
    )
    await post(
        invoicing, "/api/v1/usage", [call("meanwhile", "ACME1", "33140000000", 60, started_at=IN_MARCH)], 200
    )
    await invoicing.app.state.billing_runner.execute(run_id)
    state = await get(invoicing, f"/api/v1/billing-runs/{run_id}")
    assert state["status"] == "failed" and state["documents"] == []
    assert "the call records of 2026-03 changed since" in state["errors"][0]["error"]


async def test_the_topic_follows_the_same_rule_with_a_dead_letter(invoicing):
    await operator_with_history(invoicing)
    require_approval(invoicing)
    runtime = invoicing.app.state.runtime
    handler = runtime.handlers[BILLING_RUN_REQUESTED].handler

    async def requested(mode: BillingMode) -> None:
        envelope = Envelope.new(source="/scheduler", type=BILLING_RUN_REQUESTED)
        event = Inbound(
            envelope, BillingRunRequested(period=MARCH, mode=mode), MARCH, BILLING_RUN_REQUESTED, 0, 0
        )
        async with runtime.sessions() as session, session.begin():
            await handler(event, session)
        for start in event.after_commit:
            start()

    with pytest.raises(
        PermanentError, match="billing run refused: Production of 2026-03 needs an approved preview"
    ):
        await requested(BillingMode.PRODUCTION)
    await requested(BillingMode.PREVIEW)  # previews never need an approval; started by /scheduler
    (preview,) = (await get(invoicing, "/api/v1/billing-runs", mode="preview", period=MARCH))["items"]
    await invoicing.app.state.billing_runner.wait(preview["id"])
    assert (await approve(invoicing, preview["id"], {"comment": "ok"}, bob(invoicing))).status_code == 201
    await requested(BillingMode.PRODUCTION)
    assert (await get(invoicing, "/api/v1/billing-runs", mode="production", period=MARCH))["total"] == 1


async def test_through_the_consumer_a_refused_run_is_dead_lettered_with_its_reason(invoicing):
    await operator_with_history(invoicing)
    require_approval(invoicing)
    runtime = invoicing.app.state.runtime
    handler = runtime.handlers[BILLING_RUN_REQUESTED].handler
    recorder = KafkaRecorder()
    runtime.producer = recorder
    try:
        envelope = Envelope.new(source="/scheduler", type=BILLING_RUN_REQUESTED)
        record = SimpleNamespace(
            topic=BILLING_RUN_REQUESTED,
            partition=0,
            offset=7,
            key=MARCH.encode(),
            headers=envelope.headers(),
            value=BillingRunRequested(period=MARCH, mode=BillingMode.PRODUCTION).model_dump_json().encode(),
        )
        await runtime.consumer.handle_record(record, BillingRunRequested, handler, "t.runs")
        [dead] = recorder.sent  # at once: a refusal is not retried
        headers = dict(dead.headers)
        assert dead.topic == f"{BILLING_RUN_REQUESTED}.dlq" and dead.key == MARCH.encode()
        assert b"needs an approved preview" in headers["dlq_error"]
        async with runtime.sessions() as session:
            runs = await session.scalar(
                select(func.count()).select_from(BillingRunRow).where(BillingRunRow.period == MARCH)
            )
        assert runs == 0
    finally:
        runtime.producer = None


async def test_off_by_default_production_needs_no_approval(invoicing):
    assert invoicing.settings.run_approval_required is False
    await operator(invoicing, 1)
    assert (await produce(invoicing)).status_code == 202


async def test_review_and_approval_on_postgresql(invoicing_pg):
    invoicing = invoicing_pg
    await operator_with_history(invoicing)
    require_approval(invoicing)
    preview = await run(invoicing, MARCH, "preview")
    review = await review_of(invoicing, preview["id"])
    assert review["flagged_previews"] == 5 and review["counts"]["usage_spike"] == 1
    assert review["counts"]["unrated_call_records"] == 1 and review["counts"]["large_first_invoice"] == 1
    assert (
        await approve(invoicing, preview["id"], {"comment": "ok"}, invoicing.token("billing"))
    ).status_code == 403
    assert (await approve(invoicing, preview["id"], {"comment": "ok"}, bob(invoicing))).status_code == 201
    await post(
        invoicing, "/api/v1/usage", [call("late", "ACME1", "33140000000", 60, started_at=IN_MARCH)], 200
    )
    assert (await produce(invoicing)).status_code == 409
    again = await run(invoicing, MARCH, "preview")
    assert (await approve(invoicing, again["id"], {"comment": "ok"}, bob(invoicing))).status_code == 201
    started = await produce(invoicing)
    assert started.status_code == 202
    await invoicing.app.state.billing_runner.wait(started.json()["id"])
    assert (await get(invoicing, f"/api/v1/billing-runs/{started.json()['id']}"))["status"] == "completed"
