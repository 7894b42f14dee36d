"""The guide's read views and document actions through the HTTP API."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from decimal import Decimal
from typing import Any

import pytest
from invoicing_api_setup import call, client_body, get, operator, post, run

from ledgerline_invoicing.entrypoints import subscribers
from ledgerline_shared.contracts.events import DeliveryOutcome, DocumentRendered, FileRef, RenderedFiles
from ledgerline_shared.messaging.consumer import Inbound

PERIOD = "2026-03"
MONTH = dt.date.today().strftime("%Y-%m")  # the list shows documents by the month they were issued in
YEAR = dt.date.today().year


def number(n: int) -> str:
    return f"F{YEAR}-{n:06d}"


async def billed_clients(invoicing: Any, names: list[str]) -> list[dict[str, Any]]:
    """One client per name, client n with n lines at 25.00 (gross 30.00 x n), billed for March."""
    await operator(invoicing, 0)
    made = []
    for n, name in enumerate(names, start=1):
        client = await post(invoicing, "/api/v1/clients", client_body(f"K{n:02d}", name))
        await post(
            invoicing,
            f"/api/v1/clients/{client['id']}/contacts",
            {"name": "Compta", "email": f"compta@k{n}.test", "invoice_recipient": True},
        )
        await post(
            invoicing,
            f"/api/v1/clients/{client['id']}/subscriptions",
            {"article_code": "LINE", "quantity": str(n), "start_date": "2026-01-01"},
        )
        made.append(client)
    state = await run(invoicing, PERIOD, "production")
    assert len(state["documents"]) == len(names)
    return made


async def test_month_list_sorts_searches_filters_and_pages(invoicing):
    await billed_clients(invoicing, ["Zeta Telecom", "Alpha Conseil", "Mu Transports", "Beta Alpha SA"])
    listed = await get(invoicing, "/api/v1/invoices", month=MONTH)
    assert listed["total"] == 4 and [i["number"] for i in listed["items"]] == [number(n) for n in range(1, 5)]
    by_total = await get(invoicing, "/api/v1/invoices", month=MONTH, sort="-total")
    assert [i["gross_total"] for i in by_total["items"]] == ["120.00", "90.00", "60.00", "30.00"]
    by_client = await get(invoicing, "/api/v1/invoices", month=MONTH, sort="client")
    assert [i["client_name"] for i in by_client["items"]] == [
        "Alpha Conseil",
        "Beta Alpha SA",
        "Mu Transports",
        "Zeta Telecom",
    ]
    by_number_desc = await get(invoicing, "/api/v1/invoices", month=MONTH, sort="-number")
    assert by_number_desc["items"][0]["number"] == number(4)
    searched = await get(invoicing, "/api/v1/invoices", month=MONTH, q="alpha", sort="client")
    assert [i["client_name"] for i in searched["items"]] == ["Alpha Conseil", "Beta Alpha SA"]
    assert [
        i["client_code"] for i in (await get(invoicing, "/api/v1/invoices", month=MONTH, q="k03"))["items"]
    ] == ["K03"]
    assert (await get(invoicing, "/api/v1/invoices", month=MONTH, q=number(2)))["items"][0][
        "number"
    ] == number(2)
    page2 = await get(invoicing, "/api/v1/invoices", month=MONTH, page=2, page_size=3)
    assert page2["total"] == 4 and [i["number"] for i in page2["items"]] == [number(4)]
    assert (await get(invoicing, "/api/v1/invoices", month=MONTH, type="credit_note"))["total"] == 0
    assert (await get(invoicing, "/api/v1/invoices", month=MONTH, status="issued"))["total"] == 4
    assert (await get(invoicing, "/api/v1/invoices", month="2020-01"))["total"] == 0


async def test_pre_production_list_shows_the_previews_of_a_period(invoicing):
    await operator(invoicing, 2)
    for client in await get(invoicing, "/api/v1/clients"):
        await post(
            invoicing,
            f"/api/v1/clients/{client['id']}/subscriptions",
            {"article_code": "LINE", "quantity": "1", "start_date": "2026-03-16"},
        )  # half of March
    await run(invoicing, PERIOD, "preview")
    previews = await get(invoicing, "/api/v1/previews", period=PERIOD)
    assert [(p["client_code"], p["number"], p["net_total"]) for p in previews] == [
        ("ACME1", None, "12.90"),
        ("ACME2", None, "12.90"),  # 25.00 x 16/31 days
    ]
    assert await get(invoicing, "/api/v1/previews", period="2026-04") == []
    assert (await get(invoicing, "/api/v1/invoices", month=MONTH))["total"] == 0  # previews are not issued


async def test_client_record_shows_the_last_five_and_the_full_history(invoicing):
    (client,) = await operator(invoicing, 1)
    await post(
        invoicing,
        f"/api/v1/clients/{client['id']}/subscriptions",
        {"article_code": "LINE", "quantity": "1", "start_date": "2026-01-01"},
    )
    for month in range(1, 8):
        await run(invoicing, f"2026-{month:02d}", "production")
    last5 = await get(invoicing, f"/api/v1/clients/{client['id']}/invoices", limit=5)
    assert [i["number"] for i in last5] == [number(n) for n in (7, 6, 5, 4, 3)]  # newest first
    pages = [
        await get(invoicing, f"/api/v1/clients/{client['id']}/invoices", page=p, page_size=3)
        for p in (1, 2, 3)
    ]
    assert [[i["period"] for i in page] for page in pages] == [
        ["2026-07", "2026-06", "2026-05"],
        ["2026-04", "2026-03", "2026-02"],
        ["2026-01"],
    ]


async def deliver_events(invoicing: Any, number_: str, document_id: str) -> None:
    """What rendering and notification would publish, through invoicing's own handlers."""
    handlers: dict[str, Any] = {}

    class Capture:
        event_sink = invoicing.app.state.runtime.event_sink

        def subscribe(self, topic: str, handler: Any, **_kw: Any) -> None:
            handlers[topic] = handler

    subscribers.register(Capture(), invoicing.app.state.billing_runner)  # type: ignore[arg-type]
    ref = FileRef(path=f"{number_}.pdf", sha256="0" * 64, size=1)
    rendered = DocumentRendered(
        number=number_,
        document_id=uuid.UUID(document_id),
        type="invoice",
        version=2,
        generation_count=2,
        files=RenderedFiles(pdf=ref, json=ref),
        issue_date=dt.date.today(),
    )
    delivered = DeliveryOutcome(
        request_id="r1",
        number=number_,
        to=["compta@k1.test"],
        at=dt.datetime(2026, 4, 2, 8, 0, tzinfo=dt.UTC),
        smtp_response="250 OK",
    )
    async with invoicing.app.state.runtime.sessions() as session, session.begin():
        for topic, data in (("document.rendered", rendered), ("invoice.delivered", delivered)):
            await handlers[topic](Inbound(None, data, number_, topic, 0, 0), session)  # type: ignore[arg-type]


async def test_invoice_detail_has_lines_taxes_totals_links_generations_and_deliveries(invoicing):
    await billed_clients(invoicing, ["Alpha Conseil"])
    detail = await get(invoicing, f"/api/v1/invoices/{number(1)}")
    assert detail["status"] == "issued" and detail["type"] == "invoice"
    assert [(line["label"], Decimal(line["quantity"]), line["net_amount"]) for line in detail["lines"]] == [
        ("Ligne SIP", 1, "25.00")
    ]
    assert [(t["vat_rate"], t["taxable_amount"], t["tax_amount"]) for t in detail["tax_breakdown"]] == [
        ("20.00", "25.00", "5.00")
    ]
    assert detail["totals"]["gross_total"] == "30.00" and detail["gross_total"] == "30.00"
    assert detail["links"]["pdf"].endswith(f"/documents/{number(1)}/pdf")
    assert detail["links"]["consumption"].endswith(f"/invoices/{number(1)}/consumption")
    assert detail["credit_notes"] == [] and detail["deliveries"] == [] and detail["generation_count"] == 0
    assert detail["buyer"]["recipients"] == [{"name": "Compta", "email": "compta@k1.test"}]

    await deliver_events(invoicing, number(1), detail["id"])
    after = await get(invoicing, f"/api/v1/invoices/{number(1)}")
    assert after["generation_count"] == 2
    assert after["deliveries"] == [
        {
            "request_id": "r1",
            "status": "delivered",
            "to": ["compta@k1.test"],
            "at": after["deliveries"][0]["at"],
            "detail": "250 OK",
        }
    ]
    assert after["deliveries"][0]["at"].startswith("2026-04-02T08:00")


async def test_consumption_is_paginated_json_and_streamed_csv(invoicing):
    await operator(invoicing, 1)
    calls = [
        call(
            f"c{i:03d}",
            "ACME1",
            "+33 6 12 34 56 78",
            1 + i,
            started_at=f"2026-03-{1 + i % 28:02d}T10:00:00+01:00",
        )
        for i in range(250)
    ]
    await post(invoicing, "/api/v1/usage", calls, expect=200)
    await run(invoicing, PERIOD, "production")
    pages = [
        await get(invoicing, f"/api/v1/invoices/{number(1)}/consumption", page=p, page_size=100)
        for p in (1, 2, 3)
    ]
    assert [p["total"] for p in pages] == [250] * 3 and [len(p["items"]) for p in pages] == [100, 100, 50]
    items = [i for p in pages for i in p["items"]]
    assert len({i["cdr_id"] for i in items}) == 250
    assert [i["started_at"] for i in items] == sorted(i["started_at"] for i in items)
    assert all(i["started_at"].endswith("+00:00") for i in items)  # an unambiguous time, in UTC
    assert min(i["started_at"] for i in items) == "2026-03-01T09:00:00+00:00"  # 10:00 at +01:00
    first = next(i for i in items if i["cdr_id"] == "c000")
    assert (first["destination"], first["duration_s"], first["billable_s"], first["cost"]) == (
        "France mobile",
        1,
        1,
        "0.0520",  # 1 s at 0.12/min + 0.05 connection
    )
    answer = await invoicing.http.get(
        f"/api/v1/invoices/{number(1)}/consumption.csv", headers=invoicing.token("accounting")
    )
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 250 and {r["cdr_id"] for r in rows} == {i["cdr_id"] for i in items}
    assert sum(Decimal(r["cost"]) for r in rows) == sum(Decimal(i["cost"]) for i in items)
    # The calls' costs agree with the invoice's usage lines within the per-call rounding.
    detail = await get(invoicing, f"/api/v1/invoices/{number(1)}")
    assert abs(Decimal(detail["net_total"]) - sum(Decimal(r["cost"]) for r in rows)) < Decimal("0.02")


async def test_portal_user_sees_only_their_own_documents(invoicing):
    clients = await billed_clients(invoicing, ["Alpha Conseil", "Beta SA"])
    mine = {"Authorization": invoicing.token(f"client:{clients[0]['id']}")["Authorization"]}
    listed = (await invoicing.http.get("/api/v1/invoices", params={"month": MONTH}, headers=mine)).json()
    assert [i["client_id"] for i in listed["items"]] == [clients[0]["id"]]
    assert (await invoicing.http.get(f"/api/v1/invoices/{number(1)}", headers=mine)).status_code == 200
    assert (await invoicing.http.get(f"/api/v1/invoices/{number(2)}", headers=mine)).status_code == 404
    assert (
        await invoicing.http.get(f"/api/v1/invoices/{number(2)}/consumption", headers=mine)
    ).status_code == 404
    other = await invoicing.http.get(f"/api/v1/clients/{clients[1]['id']}/invoices", headers=mine)
    assert other.status_code == 403


async def test_send_and_regenerate_publish_their_requests(invoicing):
    clients = await billed_clients(invoicing, ["Alpha Conseil"])
    h = invoicing.token("billing")
    await invoicing.http.patch(
        f"/api/v1/clients/{clients[0]['id']}",
        json={"address": {"line1": "9 quai Neuf", "postcode": "69002", "city": "Lyon", "country": "FR"}},
        headers=h,
    )
    sent = await invoicing.http.post(f"/api/v1/invoices/{number(1)}/send", headers=h)
    assert sent.status_code == 202 and sent.json()["recipients"] == ["compta@k1.test"]
    regenerated = await invoicing.http.post(f"/api/v1/invoices/{number(1)}/regenerate", headers=h)
    assert regenerated.status_code == 202
    (send,) = await invoicing.outbox("invoice.send.requested")
    assert send["key"] == number(1) and send["data"]["recipients"][0]["email"] == "compta@k1.test"
    (render,) = await invoicing.outbox("invoice.render.requested")
    assert render["data"]["document"]["buyer"]["address"]["city"] == "Lyon"  # the current address


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/invoices", {"month": "2026-3"}, "month"),
        ("/api/v1/invoices", {}, "month"),
        ("/api/v1/invoices", {"month": "2026-03", "sort": "price"}, "sort"),
        ("/api/v1/invoices", {"month": "2026-03", "type": "preview"}, "type"),
        ("/api/v1/invoices", {"month": "2026-03", "page": "0"}, "page"),
        ("/api/v1/previews", {"period": "March"}, "period"),
    ],
)
async def test_malformed_queries_are_refused_naming_the_field(invoicing, path, params, field):
    answer = await invoicing.http.get(path, params=params, headers=invoicing.token("readonly"))
    assert answer.status_code == 422
    assert field in answer.json()["detail"][0]["loc"]


@pytest.mark.parametrize("action", ["send", "regenerate"])
async def test_actions_on_unknown_or_preview_documents_are_refused_and_change_nothing(invoicing, action):
    await operator(invoicing, 1)
    (client,) = await get(invoicing, "/api/v1/clients")
    await post(
        invoicing,
        f"/api/v1/clients/{client['id']}/subscriptions",
        {"article_code": "LINE", "quantity": "1", "start_date": "2026-01-01"},
    )
    await run(invoicing, PERIOD, "preview")
    (preview,) = await get(invoicing, "/api/v1/previews", period=PERIOD)
    before = await invoicing.outbox()
    h = invoicing.token("billing")
    unknown = await invoicing.http.post(f"/api/v1/invoices/F2026-999999/{action}", headers=h)
    assert unknown.status_code == 404 and "number" in unknown.json()["detail"][0]["loc"]
    on_preview = await invoicing.http.post(f"/api/v1/invoices/{preview['id']}/{action}", headers=h)
    assert on_preview.status_code == 422 and "number" in on_preview.json()["detail"][0]["loc"]
    missing = await invoicing.http.get("/api/v1/invoices/F2026-999999", headers=h)
    assert missing.status_code == 404
    assert await invoicing.outbox() == before
