"""The screens against the real invoicing API: who sees which action, the portal's walls, refusals as
sentences, and the proforma (method B) and one-time credit (method C) forms doing what they say."""

from __future__ import annotations

import re
from typing import Any

ADDRESS = {"line1": "1 rue de la Paix", "postcode": "75002", "city": "Paris", "country": "FR"}
ACTION = re.compile(r'data-action="([a-z-]+)"')
POST_FORM = re.compile(r'<form method="post" action="([^"]+)"')


async def seed(backoffice: Any) -> dict[str, Any]:
    """Two clients, a credit-note article, and a proforma issued for each (numbered at once)."""
    admin = backoffice.api_headers("admin")
    api = backoffice.invoicing
    ids = []
    for name in ("Boulangerie Martin", "Garage Moreau"):
        client = (
            await api.post("/api/v1/clients", json={"name": name, "address": ADDRESS}, headers=admin)
        ).json()
        ids.append(client["id"])
        await api.post(
            f"/api/v1/clients/{client['id']}/contacts",
            json={"name": "Compta", "email": f"compta@{client['id'][:8]}.test", "invoice_recipient": True},
            headers=admin,
        )
    article = {"code": "GOODWILL", "label": "Goodwill credit", "kind": "credit_note", "unit_price": "-10",
               "vat_rate": "20.00", "accounting_account": "709000"}  # fmt: skip
    assert (await api.post("/api/v1/articles", json=article, headers=admin)).status_code == 201
    numbers = []
    for client_id in ids:
        line = {"label": "Setup", "quantity": "1", "unit_price": "100.00", "vat_rate": "20.00"}
        answer = await api.post(
            f"/api/v1/clients/{client_id}/proformas", json={"lines": [line]}, headers=admin
        )
        assert answer.status_code == 201, answer.text
        numbers.append(answer.json()["number"])
    return {"clients": ids, "numbers": numbers, "month": answer.json()["issue_date"][:7]}


def actions_on(html: str) -> set[str]:
    return set(ACTION.findall(html))


async def test_each_role_sees_only_its_actions(backoffice: Any) -> None:
    data = await seed(backoffice)
    number, client_id = data["numbers"][0], data["clients"][0]
    pages = [
        f"/invoices?month={data['month']}",
        f"/invoices/{number}",
        f"/clients/{client_id}",
        "/pre-production",
    ]

    await backoffice.sign_in("rory")
    for path in pages:
        page = await backoffice.http.get(path)
        assert page.status_code == 200, path
        assert actions_on(page.text) == set(), f"readonly sees actions on {path}"
        assert POST_FORM.findall(page.text) == ["/logout"], (
            f"readonly has a form that changes something on {path}"
        )
    await backoffice.sign_out()

    await backoffice.sign_in("acc")
    seen = set()
    for path in pages:
        seen |= actions_on((await backoffice.http.get(path)).text)
    assert "export-list" in seen
    assert not seen & {
        "send",
        "regenerate",
        "credit",
        "proforma",
        "recipient-on",
        "run-production",
        "add-item",
    }
    assert (await backoffice.http.get("/tools/credit-note")).status_code == 403
    await backoffice.sign_out()

    await backoffice.sign_in("bill")
    seen = set()
    for path in pages:
        seen |= actions_on((await backoffice.http.get(path)).text)
    assert {
        "send",
        "regenerate",
        "proforma",
        "add-item",
        "run-preview",
        "run-production",
        "export-list",
    } <= seen


async def test_the_portal_shows_a_client_its_own_documents_and_404_for_others(backoffice: Any) -> None:
    data = await seed(backoffice)
    own, other = data["numbers"]
    portal = backoffice.bearer(f"client:{data['clients'][0]}", sub="martin")
    listing = await backoffice.http.get("/invoices", params={"month": data["month"]}, headers=portal)
    assert listing.status_code == 200 and own in listing.text and other not in listing.text
    assert actions_on(listing.text) == set()
    assert (await backoffice.http.get(f"/invoices/{own}", headers=portal)).status_code == 200
    hidden = await backoffice.http.get(f"/invoices/{other}", headers=portal)
    assert hidden.status_code == 404 and "Check the number and try again." in hidden.text
    assert other not in hidden.text  # not even echoed back
    # Exactly the page of a number that does not exist: nothing tells that this one does.
    unknown = await backoffice.http.get("/invoices/PF2099-999999", headers=portal)
    assert hidden.text == unknown.text
    assert (await backoffice.http.get(f"/clients/{data['clients'][1]}", headers=portal)).status_code == 403
    assert (await backoffice.http.get("/pre-production", headers=portal)).status_code == 403


async def test_a_page_whose_other_service_is_down_still_shows_what_it_has(backoffice: Any) -> None:
    data = await seed(backoffice)
    await backoffice.sign_in("bill")
    page = await backoffice.http.get(f"/invoices/{data['numbers'][0]}")
    assert page.status_code == 200 and "Setup" in page.text
    assert "service is not answering" in page.text  # rendering and notification are not running here
    down = await backoffice.http.get(f"/documents/{data['numbers'][0]}/pdf")
    assert down.status_code == 503 and "The rendering service is not answering" in down.text


async def test_credit_note_refusals_are_sentences_and_create_nothing(backoffice: Any) -> None:
    data = await seed(backoffice)
    await backoffice.sign_in("bill")
    token = await backoffice.csrf_of("/tools/credit-note")
    missing_reason = await backoffice.http.post(
        "/tools/credit-note",
        data={"csrf_token": token, "number": data["numbers"][0], "mode": "cancel", "reason": ""},
    )
    assert missing_reason.status_code == 422 and "Give a reason" in missing_reason.text
    refused = await backoffice.http.post(
        "/tools/credit-note",
        data={"csrf_token": token, "number": data["numbers"][0], "mode": "cancel", "reason": "x"},
    )  # a proforma is not an invoice one can cancel: the API refuses, the page says why
    assert refused.status_code in (404, 409, 422)
    assert (
        "alert-error" in refused.text and '{"detail"' not in refused.text and "Traceback" not in refused.text
    )
    listing = (
        await backoffice.invoicing.get(
            "/api/v1/invoices",
            params={"month": data["month"], "type": "credit_note"},
            headers=backoffice.api_headers("admin"),
        )
    ).json()
    assert listing["total"] == 0


async def test_proforma_with_a_negative_line_and_a_one_time_credit_from_the_client_record(
    backoffice: Any,
) -> None:
    data = await seed(backoffice)
    client_id = data["clients"][0]
    await backoffice.sign_in("bill")
    token = await backoffice.csrf_of(f"/clients/{client_id}")
    created = await backoffice.http.post(
        f"/clients/{client_id}/proformas",
        data={
            "csrf_token": token,
            "line-0-label": "Goodwill credit",
            "line-0-quantity": "1",
            "line-0-unit_price": "-50,00",
            "line-0-vat_rate": "20",
        },
    )
    assert created.status_code == 303
    number = created.headers["location"].split("/invoices/")[1].split("?")[0]
    detail = await backoffice.http.get(f"/invoices/{number}")
    assert "Goodwill credit" in detail.text and "-60,00\u00a0€" in detail.text  # −50 + 20 % VAT

    added = await backoffice.http.post(
        f"/clients/{client_id}/one-time-items",
        data={"csrf_token": token, "article_code": "GOODWILL", "quantity": "1", "unit_price": "-15,00"},
    )
    assert added.status_code == 303
    items = (
        await backoffice.invoicing.get(
            f"/api/v1/clients/{client_id}/one-time-items", headers=backoffice.api_headers("admin")
        )
    ).json()
    assert [(i["article_code"], i["unit_price"], i["repeat"], i["active"]) for i in items] == [
        ("GOODWILL", "-15", "once", True)
    ]
    bad = await backoffice.http.post(
        f"/clients/{client_id}/one-time-items",
        data={"csrf_token": token, "article_code": "GOODWILL", "quantity": "zero"},
    )
    assert bad.status_code == 422 and "The quantity must be a number above zero." in bad.text


async def test_the_full_history_tab_pages_without_losing_a_document(backoffice: Any) -> None:
    data = await seed(backoffice)
    client_id = data["clients"][0]
    admin = backoffice.api_headers("admin")
    line = {"label": "Setup", "quantity": "1", "unit_price": "1.00", "vat_rate": "20.00"}
    for _ in range(50):  # 51 documents with the seed's one: a page of 50, then one more
        made = await backoffice.invoicing.post(
            f"/api/v1/clients/{client_id}/proformas", json={"lines": [line]}, headers=admin
        )
        assert made.status_code == 201
    await backoffice.sign_in("rory")
    first = await backoffice.http.get(f"/clients/{client_id}/history")
    second = await backoffice.http.get(f"/clients/{client_id}/history", params={"page": 2})
    shown = [re.findall(r'<a href="/invoices/(PF[^"]+)">', p.text) for p in (first, second)]
    assert (
        [len(s) for s in shown] == [50, 1] and 'rel="next"' in first.text and 'rel="next"' not in second.text
    )
    history = (
        await backoffice.invoicing.get(
            f"/api/v1/clients/{client_id}/invoices", params={"page_size": 100}, headers=admin
        )
    ).json()
    assert shown[0] + shown[1] == [d["number"] for d in history]
