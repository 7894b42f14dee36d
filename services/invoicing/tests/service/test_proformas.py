"""Method B: proformas through the API. Created and numbered at once, published (proforma.created),
never sent automatically, sent on request; listed under their type."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ledgerline_shared.topics import INVOICE_SEND_REQUESTED, PROFORMA_CREATED

YEAR = dt.date.today().year
MONTH = dt.date.today().strftime("%Y-%m")
CLIENT = {
    "name": "ACME SARL",
    "address": {"line1": "1 rue A", "postcode": "75001", "city": "Paris", "country": "FR"},
    "language": "en",
}


async def client_with_recipient(inv: Any) -> str:
    h = inv.token("billing")
    client = (await inv.http.post("/api/v1/clients", json=CLIENT, headers=h)).json()
    await inv.http.post(
        f"/api/v1/clients/{client['id']}/contacts",
        json={"name": "Jane Doe", "email": "jane@acme.test", "invoice_recipient": True},
        headers=h,
    )
    return str(client["id"])


async def add_article(inv: Any, code: str, kind: str, price: str, account: str = "709000") -> None:
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
        headers=inv.token("billing"),
    )
    assert made.status_code == 201, made.text


def line(amount: str, **extra: str) -> dict[str, str]:
    return {"label": "Goodwill on March", "quantity": "1", "unit_price": amount, "vat_rate": "20.00", **extra}


async def test_proforma_with_negative_lines_is_numbered_and_published_at_once(invoicing: Any) -> None:
    client_id = await client_with_recipient(invoicing)
    await add_article(invoicing, "AVOIR", "credit_note", "-10.00")
    answer = await invoicing.http.post(
        f"/api/v1/clients/{client_id}/proformas",
        json={
            "lines": [
                line("-50.00"),
                {**line("-10.00", article_code="AVOIR"), "label": "Credit", "quantity": "2"},
            ],
            "reason": "outage of 3 March",
        },
        headers=invoicing.token("billing", sub="dave"),
    )
    assert answer.status_code == 201, answer.text
    proforma = answer.json()
    assert proforma["number"] == f"PF{YEAR}-000001" and proforma["type"] == "proforma"
    assert (proforma["net_total"], proforma["tax_total"], proforma["gross_total"]) == (
        "-70.00",
        "-14.00",
        "-84.00",
    )
    assert proforma["requested_by"] == "dave" and proforma["reason"] == "outage of 3 March"
    assert [x["net_amount"] for x in proforma["lines"]] == ["-50.00", "-20.00"]
    assert (
        proforma["lines"][1]["kind"] == "credit_note"
        and proforma["lines"][1]["accounting_account"] == "709000"
    )

    [event] = await invoicing.outbox(PROFORMA_CREATED)
    assert event["key"] == proforma["number"]
    assert event["data"]["type"] == "proforma" and event["data"]["totals"]["gross_total"] == "-84.00"
    assert event["data"]["buyer"]["client_id"] == client_id
    assert await invoicing.outbox(INVOICE_SEND_REQUESTED) == []  # never e-mailed automatically

    h = invoicing.token("readonly")
    listed = (await invoicing.http.get(f"/api/v1/invoices?month={MONTH}&type=proforma", headers=h)).json()
    assert [(d["number"], d["type"]) for d in listed["items"]] == [(proforma["number"], "proforma")]
    assert (await invoicing.http.get(f"/api/v1/invoices?month={MONTH}&type=invoice", headers=h)).json()[
        "total"
    ] == 0
    history = (await invoicing.http.get(f"/api/v1/clients/{client_id}/invoices?limit=5", headers=h)).json()
    assert [(d["number"], d["type"]) for d in history] == [(proforma["number"], "proforma")]

    second = await invoicing.http.post(
        f"/api/v1/clients/{client_id}/proformas",
        json={"lines": [line("12.00")]},
        headers=invoicing.token("admin"),
    )
    assert second.json()["number"] == f"PF{YEAR}-000002"  # its own gapless series


async def test_proforma_is_sent_only_on_request(invoicing: Any) -> None:
    client_id = await client_with_recipient(invoicing)
    number = (
        await invoicing.http.post(
            f"/api/v1/clients/{client_id}/proformas",
            json={"lines": [line("-50.00")]},
            headers=invoicing.token("billing"),
        )
    ).json()["number"]
    sent = await invoicing.http.post(
        f"/api/v1/proformas/{number}/send", headers=invoicing.token("billing", sub="eve")
    )
    assert sent.status_code == 202, sent.text
    assert sent.json()["number"] == number and sent.json()["recipients"] == ["jane@acme.test"]
    [event] = await invoicing.outbox(INVOICE_SEND_REQUESTED)
    assert event["key"] == number and event["data"]["request_id"] == sent.json()["request_id"]
    assert event["data"]["recipients"] == [{"name": "Jane Doe", "email": "jane@acme.test"}]
    assert event["data"]["language"] == "en" and event["data"]["requested_by"] == "eve@ledgerline.test"


async def proforma_count(inv: Any) -> tuple[int, int]:
    listed = await inv.http.get(
        f"/api/v1/invoices?month={MONTH}&type=proforma", headers=inv.token("readonly")
    )
    return listed.json()["total"], len(await inv.outbox(PROFORMA_CREATED))


@pytest.mark.parametrize(
    ("body", "code", "where"),
    [
        ({"lines": []}, 422, "lines"),
        ({}, 422, "lines"),
        ({"lines": [line("-5.00", article_code="SETUP")]}, 422, "unit_price"),  # not a credit_note article
        ({"lines": [line("5.00", article_code="NOPE")]}, 404, "article_code"),
        ({"lines": [{**line("5.00"), "unit_price": 5.5}]}, 422, "unit_price"),  # a float
        ({"lines": [{**line("5.00"), "vat_rate": "5.555"}]}, 422, "vat_rate"),
        ({"lines": [{**line("5.00"), "quantity": "0"}]}, 422, "quantity"),
        ({"lines": [{**line("5.00"), "label": ""}]}, 422, "label"),
        ({"lines": [line("5.00")], "extra": "x"}, 422, "extra"),
    ],
)
async def test_proforma_refusals_change_nothing(invoicing: Any, body: Any, code: Any, where: Any) -> None:
    client_id = await client_with_recipient(invoicing)
    await add_article(invoicing, "SETUP", "one_time", "49.00", "706200")
    answer = await invoicing.http.post(
        f"/api/v1/clients/{client_id}/proformas", json=body, headers=invoicing.token("billing")
    )
    assert answer.status_code == code, answer.text
    assert where in str(answer.json()["detail"][0]["loc"])
    assert await proforma_count(invoicing) == (0, 0)


async def test_proforma_for_unknown_client_or_without_rights_is_refused(invoicing: Any) -> None:
    unknown = await invoicing.http.post(
        "/api/v1/clients/nobody/proformas",
        json={"lines": [line("-5.00")]},
        headers=invoicing.token("billing"),
    )
    assert unknown.status_code == 404
    client_id = await client_with_recipient(invoicing)
    for role in ("readonly", "accounting", f"client:{client_id}"):
        answer = await invoicing.http.post(
            f"/api/v1/clients/{client_id}/proformas",
            json={"lines": [line("-5.00")]},
            headers=invoicing.token(role),
        )
        assert answer.status_code == 403
    assert await proforma_count(invoicing) == (0, 0)


async def test_send_is_refused_for_what_is_not_a_proforma(invoicing: Any) -> None:
    client_id = await client_with_recipient(invoicing)
    h = invoicing.token("billing")
    number = (
        await invoicing.http.post(
            f"/api/v1/clients/{client_id}/proformas", json={"lines": [line("1.00")]}, headers=h
        )
    ).json()["number"]
    assert (
        await invoicing.http.post(f"/api/v1/proformas/PF{YEAR}-000099/send", headers=h)
    ).status_code == 404
    # A real invoice is sent through /invoices/{number}/send, not as a proforma.
    await add_article(invoicing, "SETUP", "one_time", "49.00", "706200")
    await invoicing.http.post(
        f"/api/v1/clients/{client_id}/one-time-items",
        json={"article_code": "SETUP", "quantity": "1"},
        headers=h,
    )
    run = await invoicing.http.post(
        "/api/v1/billing-runs", json={"period": "2026-03", "mode": "production"}, headers=h
    )
    await invoicing.app.state.billing_runner.wait(run.json()["id"])
    invoice = (await invoicing.http.get(f"/api/v1/billing-runs/{run.json()['id']}", headers=h)).json()[
        "documents"
    ][0]
    assert invoice == f"F{YEAR}-000001"
    assert (await invoicing.http.post(f"/api/v1/proformas/{invoice}/send", headers=h)).status_code == 404
    readonly = await invoicing.http.post(
        f"/api/v1/proformas/{number}/send", headers=invoicing.token("readonly")
    )
    assert readonly.status_code == 403
    assert await invoicing.outbox(INVOICE_SEND_REQUESTED) == []
