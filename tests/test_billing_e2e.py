"""Issue #3 through the real broker: subscriptions, one-time items and call records give a preview, then
a production invoice whose `invoice.issued` event carries the full document; a second production
run of the period issues nothing new. Call records also arrive through the `usage.recorded` topic."""

from __future__ import annotations

import json
import uuid

from aiokafka import AIOKafkaProducer
from e2e_support import RunningStack, eventually, kafka_auth, read_topic

from ledgerline_shared.cloudevents import Envelope
from ledgerline_shared.topics import BILLING_RUN_REQUESTED, INVOICE_ISSUED, USAGE_RECORDED

PERIOD = "2026-09"


async def run(http, h, body) -> dict:  # type: ignore[no-untyped-def]
    started = (await http.post("/api/v1/billing-runs", json=body, headers=h)).json()

    async def done() -> dict | None:
        state = (await http.get(f"/api/v1/billing-runs/{started['id']}", headers=h)).json()
        return state if state["status"] in ("completed", "failed") else None

    return await eventually(done, 90)


async def test_preview_then_production_then_nothing_twice(stack: RunningStack, kafka_bootstrap: str) -> None:
    h = stack.token("billing")
    code = f"TEL{uuid.uuid4().hex[:6].upper()}"
    async with stack.http("invoicing") as inv:
        for article in (
            {
                "code": "E2E-FIBRE",
                "label": "Fibre Pro",
                "kind": "recurring",
                "unit_price": "49.90",
                "vat_rate": "20.00",
                "accounting_account": "706100",
            },
            {
                "code": "E2E-ROUTER",
                "label": "Routeur",
                "kind": "one_time",
                "unit_price": "120.00",
                "vat_rate": "20.00",
                "accounting_account": "707000",
            },
            {
                "code": "E2E-USAGE",
                "label": "Communications",
                "kind": "usage",
                "unit_price": "0",
                "vat_rate": "20.00",
                "accounting_account": "706300",
            },
        ):
            assert (await inv.post("/api/v1/articles", json=article, headers=h)).status_code in (201, 409)
        plan = {
            "code": f"PLAN-{code}",
            "rules": [
                {
                    "prefix": "33",
                    "label": "France fixe",
                    "kind": "voice",
                    "unit_price": "0.0200",
                    "increment": "60/60",
                },
                {
                    "prefix": "336",
                    "label": "France mobile",
                    "kind": "voice",
                    "unit_price": "0.1000",
                    "connection_fee": "0.05",
                    "increment": "1/1",
                },
                {"prefix": "", "label": "SMS", "kind": "sms", "unit_price": "0.0500"},
            ],
        }
        assert (await inv.post("/api/v1/rate-plans", json=plan, headers=h)).status_code == 201
        client = (
            await inv.post(
                "/api/v1/clients",
                headers=h,
                json={
                    "code": code,
                    "name": "Transports Martin",
                    "rate_plan_code": plan["code"],
                    "language": "en",
                    "address": {
                        "line1": "8 quai Ouest",
                        "postcode": "33000",
                        "city": "Bordeaux",
                        "country": "FR",
                    },
                },
            )
        ).json()
        cid = client["id"]
        await inv.post(
            f"/api/v1/clients/{cid}/contacts",
            headers=h,
            json={"name": "Luc Martin", "email": "luc@martin.test", "invoice_recipient": True},
        )
        await inv.post(
            f"/api/v1/clients/{cid}/subscriptions",
            headers=h,
            json={"article_code": "E2E-FIBRE", "quantity": "1", "start_date": "2026-09-16"},
        )
        await inv.post(
            f"/api/v1/clients/{cid}/one-time-items",
            headers=h,
            json={"article_code": "E2E-ROUTER", "quantity": "1"},
        )
        calls = [
            {
                "cdr_id": f"{code}-1",
                "account": code,
                "started_at": "2026-09-20T10:00:00+02:00",
                "kind": "voice",
                "duration_s": 61,
                "caller": "33140000000",
                "callee": "+33 1 45 00 00 00",
            },
            {
                "cdr_id": f"{code}-2",
                "account": code,
                "started_at": "2026-09-20T11:00:00+02:00",
                "kind": "voice",
                "duration_s": 30,
                "caller": "33140000000",
                "callee": "0033612345678",
            },
            {
                "cdr_id": f"{code}-3",
                "account": code,
                "started_at": "2026-09-21T11:00:00+02:00",
                "kind": "voice",
                "duration_s": 30,
                "caller": "33140000000",
                "callee": "99999",
            },
        ]
        answer = (await inv.post("/api/v1/usage", json=calls, headers=h)).json()
        assert answer["accepted"] == 3 and answer["rejected"][0]["cdr_id"] == f"{code}-3"
        assert (await inv.post("/api/v1/usage", json=calls[:1], headers=h)).json()["duplicates"] == 1

    # Two SMS through the topic, as a mediation platform sends them (one of them twice).
    producer = AIOKafkaProducer(**kafka_auth(), bootstrap_servers=kafka_bootstrap)
    await producer.start()
    sms = {
        "records": [
            {
                "cdr_id": f"{code}-s{i}",
                "account": code,
                "started_at": "2026-09-22T09:00:00+02:00",
                "kind": "sms",
                "units": "1",
                "caller": "33612000000",
                "callee": "33698765432",
            }
            for i in (1, 2)
        ]
    }
    try:
        envelope = Envelope.new(source="/tests/mediation", type=USAGE_RECORDED, subject=code)
        for _ in range(2):
            await producer.send_and_wait(
                USAGE_RECORDED, json.dumps(sms).encode(), key=code.encode(), headers=envelope.headers()
            )
    finally:
        await producer.stop()

    async with stack.http("invoicing") as inv:

        async def preview_with_sms() -> dict | None:
            state = await run(inv, h, {"period": PERIOD, "mode": "preview", "client_ids": [cid]})
            previews = (await inv.get(f"/api/v1/previews?period={PERIOD}", headers=h)).json()
            mine = [p for p in previews if p["client_id"] == cid]
            if state["status"] != "completed" or len(mine) != 1:
                return None
            detail = (await inv.get(f"/api/v1/invoices/{mine[0]['id']}", headers=h)).json()
            return (
                detail
                if any(line["unit"] == "C62" and "SMS" in line["label"] for line in detail["lines"])
                else None
            )

        preview = await eventually(preview_with_sms, 60, interval=1)
        assert preview["number"] is None and preview["status"] == "preview"

        # A scheduler asks for the same preview on billing.run.requested: it replaces this one.
        producer = AIOKafkaProducer(**kafka_auth(), bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            request = {"period": PERIOD, "mode": "preview", "client_ids": [cid]}
            await producer.send_and_wait(
                BILLING_RUN_REQUESTED,
                json.dumps(request).encode(),
                key=PERIOD.encode(),
                headers=Envelope.new(source="/tests/scheduler", type=BILLING_RUN_REQUESTED).headers(),
            )
        finally:
            await producer.stop()

        async def replaced() -> bool:
            previews = (await inv.get(f"/api/v1/previews?period={PERIOD}", headers=h)).json()
            mine = [p for p in previews if p["client_id"] == cid]
            return len(mine) == 1 and mine[0]["id"] != preview["id"]

        await eventually(replaced, 60)

        production = await run(inv, h, {"period": PERIOD, "mode": "production", "client_ids": [cid]})
        assert production["status"] == "completed" and len(production["documents"]) == 1
        number = production["documents"][0]
        assert production["report"]["unrated_call_records"][0]["cdr_id"] == f"{code}-3"
        detail = (await inv.get(f"/api/v1/invoices/{number}", headers=h)).json()
        # Fibre 49.90 prorated 15/30 days = 24.95; router 120.00; fixed 2 min x 0.02 = 0.04;
        # mobile 30 s x 0.10/min = 0.05 + fee 0.05; 2 SMS x 0.05 = 0.10 -> net 145.19, VAT 29.04.
        assert detail["totals"]["net_total"] == "145.19"
        assert detail["totals"]["gross_total"] == "174.23"
        consumption = (await inv.get(f"/api/v1/invoices/{number}/consumption", headers=h)).json()
        assert consumption["total"] == 4  # two voice calls, two SMS; the unrated one is not billed
        csv_text = (await inv.get(f"/api/v1/invoices/{number}/consumption.csv", headers=h)).text
        assert csv_text.count("\n") == 5 and f"{code}-2" in csv_text

        again = await run(inv, h, {"period": PERIOD, "mode": "production", "client_ids": [cid]})
        assert again["documents"] == [] and "already billed" in again["report"]["skipped"][0]["reason"]
        items = (await inv.get(f"/api/v1/clients/{cid}/one-time-items", headers=h)).json()
        assert items[0]["active"] is False and items[0]["billed_by"] == number

    # This client's events (a developer's broker may hold earlier runs with the same numbers).
    issued = [
        e
        for e in await read_topic(kafka_bootstrap, INVOICE_ISSUED, number)
        if e["data"]["buyer"]["code"] == code
    ]
    assert len(issued) == 1
    event = issued[0]
    assert event["headers"]["ce_type"] == INVOICE_ISSUED and event["headers"]["ce_specversion"] == "1.0"
    document = event["data"]
    assert document["number"] == number and document["buyer"]["code"] == code
    assert document["buyer"]["recipients"] == [{"name": "Luc Martin", "email": "luc@martin.test"}]
    assert document["totals"]["gross_total"] == "174.23" and len(document["lines"]) >= 5
    assert {c["label"] for c in document["consumption"]} >= {"France fixe", "France mobile", "SMS"}
