"""Clients, contacts and catalog through the HTTP API: creations, refusals, roles."""

from __future__ import annotations

import pytest

CLIENT = {
    "name": "ACME SARL",
    "address": {"line1": "1 rue A", "postcode": "75001", "city": "Paris", "country": "FR"},
    "vat_id": "FR12345678901",
    "siren": "123456789",
}


async def test_client_with_recipient_contact_is_created(invoicing):
    h = invoicing.token("billing")
    created = await invoicing.http.post("/api/v1/clients", json=CLIENT, headers=h)
    assert created.status_code == 201, created.text
    client = created.json()
    assert client["code"] == "C00001" and client["currency"] == "EUR" and client["payment_terms_days"] == 30
    contact = await invoicing.http.post(
        f"/api/v1/clients/{client['id']}/contacts",
        json={"name": "Jane Doe", "email": "jane@acme.test", "invoice_recipient": True},
        headers=h,
    )
    assert contact.status_code == 201
    listed = await invoicing.http.get(f"/api/v1/clients/{client['id']}/contacts", headers=h)
    assert [c["email"] for c in listed.json()] == ["jane@acme.test"]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"address": {**CLIENT["address"], "country": "France"}}, "country"),
        ({"currency": "EURO"}, "currency"),
        ({"currency": "XYZ"}, "currency"),
        ({"siren": "12345"}, "siren"),
        ({"name": ""}, "name"),
    ],
)
async def test_malformed_client_is_refused_naming_the_field(invoicing, patch, field):
    h = invoicing.token("billing")
    answer = await invoicing.http.post("/api/v1/clients", json={**CLIENT, **patch}, headers=h)
    assert answer.status_code == 422
    assert field in str(answer.json()["detail"][0]["loc"])
    assert (await invoicing.http.get("/api/v1/clients", headers=h)).json() == []


@pytest.mark.parametrize(
    ("name", "email"),
    [
        ("Jane\r\nBcc: evil@x.test", "jane@acme.test"),
        ("Jane", "jane@acme.test\r\nBcc: evil@x.test"),
        ("Jane", "jane@acme.test, evil@x.test"),
        ("Jane <evil@x.test>", "jane@acme.test"),
        ("Jane", "not-an-address"),
    ],
)
async def test_contact_that_could_inject_a_header_is_refused(invoicing, name, email):
    h = invoicing.token("billing")
    client = (await invoicing.http.post("/api/v1/clients", json=CLIENT, headers=h)).json()
    answer = await invoicing.http.post(
        f"/api/v1/clients/{client['id']}/contacts", json={"name": name, "email": email}, headers=h
    )
    assert answer.status_code == 422
    assert (await invoicing.http.get(f"/api/v1/clients/{client['id']}/contacts", headers=h)).json() == []


async def test_negative_price_only_for_credit_note_articles(invoicing):
    h = invoicing.token("billing")
    article = {
        "code": "X",
        "label": "Setup",
        "kind": "one_time",
        "unit_price": "-5.00",
        "vat_rate": "20.00",
        "accounting_account": "706100",
    }
    refused = await invoicing.http.post("/api/v1/articles", json=article, headers=h)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][-1] == "unit_price"
    allowed = await invoicing.http.post(
        "/api/v1/articles", json={**article, "kind": "credit_note"}, headers=h
    )
    assert allowed.status_code == 201
    listed = (await invoicing.http.get("/api/v1/articles", headers=h)).json()
    assert [a["kind"] for a in listed] == ["credit_note"]


async def test_float_amounts_are_refused(invoicing):
    h = invoicing.token("billing")
    article = {
        "code": "X",
        "label": "Setup",
        "kind": "one_time",
        "unit_price": 49.9,
        "vat_rate": "20.00",
        "accounting_account": "706100",
    }
    answer = await invoicing.http.post("/api/v1/articles", json=article, headers=h)
    assert answer.status_code == 422


async def test_roles(invoicing):
    assert (await invoicing.http.get("/api/v1/clients")).status_code == 401
    assert (
        await invoicing.http.post("/api/v1/clients", json=CLIENT, headers=invoicing.token("readonly"))
    ).status_code == 403
    assert (
        await invoicing.http.get("/api/v1/clients", headers=invoicing.token("readonly"))
    ).status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [("vat_rate", "5.555"), ("unit_price", "1.0000001")],
)
async def test_amounts_finer_than_stored_are_refused_not_rounded(invoicing, field, value):
    h = invoicing.token("billing")
    article = {
        "code": "X",
        "label": "Setup",
        "kind": "one_time",
        "unit_price": "49.90",
        "vat_rate": "20.00",
        "accounting_account": "706100",
        field: value,
    }
    answer = await invoicing.http.post("/api/v1/articles", json=article, headers=h)
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"][-1] == field
    assert (await invoicing.http.get("/api/v1/articles", headers=h)).json() == []


def test_two_series_may_not_share_a_prefix():
    from ledgerline_invoicing.config import InvoicingSettings
    from ledgerline_invoicing.domain.errors import InvalidNumber

    with pytest.raises(InvalidNumber):
        InvoicingSettings(credit_note_prefix="F")
