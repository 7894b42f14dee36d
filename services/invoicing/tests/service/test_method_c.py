"""Method C: a credit_note article in the client's one-time billing section, with a negative
amount, billed by the next production run as a negative line. repeat: once bills it once, then
deactivates it and links it to that invoice; every_cycle bills it each cycle and the run's report
lists it. Two production runs (two months) show the difference."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ledgerline_shared.topics import INVOICE_ISSUED

YEAR = dt.date.today().year
CLIENT = {
    "name": "ACME SARL",
    "address": {"line1": "1 rue A", "postcode": "75001", "city": "Paris", "country": "FR"},
}


async def folder(inv: Any) -> str:
    """A client with a 30.00 monthly line, and a credit_note article 'AVOIR' at -15.00."""
    h = inv.token("billing")
    client = (await inv.http.post("/api/v1/clients", json=CLIENT, headers=h)).json()
    for code, kind, price, account in (
        ("LINE", "recurring", "30.00", "706100"),
        ("AVOIR", "credit_note", "-15.00", "709000"),
        ("SETUP", "one_time", "49.00", "706200"),
    ):
        made = await inv.http.post(
            "/api/v1/articles",
            json={
                "code": code,
                "label": code.title(),
                "kind": kind,
                "unit_price": price,
                "vat_rate": "20.00",
                "accounting_account": account,
            },
            headers=h,
        )
        assert made.status_code == 201, made.text
    sub = await inv.http.post(
        f"/api/v1/clients/{client['id']}/subscriptions",
        json={"article_code": "LINE", "quantity": "1", "start_date": "2026-01-01"},
        headers=h,
    )
    assert sub.status_code == 201, sub.text
    return str(client["id"])


async def produce(inv: Any, period: str) -> dict[str, Any]:
    h = inv.token("billing")
    run = await inv.http.post(
        "/api/v1/billing-runs", json={"period": period, "mode": "production"}, headers=h
    )
    await inv.app.state.billing_runner.wait(run.json()["id"])
    done = (await inv.http.get(f"/api/v1/billing-runs/{run.json()['id']}", headers=h)).json()
    assert done["status"] == "completed" and len(done["documents"]) == 1, done
    result: dict[str, Any] = done
    return result


def credit_lines(event: dict[str, Any]) -> list[tuple[str, str]]:
    return [(x["label"], x["net_amount"]) for x in event["data"]["lines"] if x["kind"] == "credit_note"]


async def test_repeat_once_credits_once_then_deactivates_and_links(invoicing: Any) -> None:
    client_id = await folder(invoicing)
    h = invoicing.token("billing")
    item = await invoicing.http.post(
        f"/api/v1/clients/{client_id}/one-time-items",
        json={"article_code": "AVOIR", "quantity": "1", "label": "Outage credit", "repeat": "once"},
        headers=h,
    )
    assert item.status_code == 201, item.text
    january = await produce(invoicing, "2026-01")
    february = await produce(invoicing, "2026-02")

    events = await invoicing.outbox(INVOICE_ISSUED)
    assert [e["key"] for e in events] == january["documents"] + february["documents"]
    assert credit_lines(events[0]) == [("Outage credit", "-15.00")]
    assert events[0]["data"]["totals"]["gross_total"] == "18.00"  # (30.00 - 15.00) + 20 %
    assert credit_lines(events[1]) == []
    assert events[1]["data"]["totals"]["gross_total"] == "36.00"
    [after] = (await invoicing.http.get(f"/api/v1/clients/{client_id}/one-time-items", headers=h)).json()
    assert after["active"] is False and after["billed_by"] == january["documents"][0]
    assert january["report"]["every_cycle_credit_notes"] == []


async def test_every_cycle_credits_each_run_and_is_reported(invoicing: Any) -> None:
    client_id = await folder(invoicing)
    h = invoicing.token("billing")
    item = (
        await invoicing.http.post(
            f"/api/v1/clients/{client_id}/one-time-items",
            json={"article_code": "AVOIR", "quantity": "1", "repeat": "every_cycle"},
            headers=h,
        )
    ).json()
    runs = [await produce(invoicing, "2026-01"), await produce(invoicing, "2026-02")]

    events = await invoicing.outbox(INVOICE_ISSUED)
    assert [credit_lines(e) for e in events] == [[("Avoir", "-15.00")], [("Avoir", "-15.00")]]
    for run, event in zip(runs, events, strict=True):
        assert run["report"]["every_cycle_credit_notes"] == [
            {"client_id": client_id, "item_id": item["id"], "label": "Avoir", "invoice": event["key"]}
        ]
    [after] = (await invoicing.http.get(f"/api/v1/clients/{client_id}/one-time-items", headers=h)).json()
    assert after["active"] is True and after["billed_by"] == runs[1]["documents"][0]


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"article_code": "SETUP", "quantity": "1", "unit_price": "-15.00"}, "unit_price"),
        ({"article_code": "LINE", "quantity": "1", "unit_price": "-15.00"}, "article_code"),
        ({"article_code": "AVOIR", "quantity": "-1"}, "quantity"),
    ],
)
async def test_negative_amount_only_on_a_credit_note_article(invoicing: Any, item: Any, field: Any) -> None:
    client_id = await folder(invoicing)
    h = invoicing.token("billing")
    answer = await invoicing.http.post(f"/api/v1/clients/{client_id}/one-time-items", json=item, headers=h)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"][-1] == field
    assert (await invoicing.http.get(f"/api/v1/clients/{client_id}/one-time-items", headers=h)).json() == []
    # And nothing negative reaches an invoice: the next run bills the subscription alone.
    run = await produce(invoicing, "2026-01")
    [event] = await invoicing.outbox(INVOICE_ISSUED)
    assert event["key"] == run["documents"][0]
    assert [x["net_amount"] for x in event["data"]["lines"]] == ["30.00"]
