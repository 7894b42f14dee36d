"""CSP and no inline script, autoescaped markup, CSRF on actions, Bearer instead of the cookie, ops-token."""

from __future__ import annotations

import html
import re
from importlib.resources import files
from typing import Any

import pytest

TEMPLATES = files("ledgerline_backoffice") / "templates"
MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_no_template_carries_inline_script_or_handlers() -> None:
    """CSP forbids inline script; the templates must not need it (JavaScript lives in static/app.js)."""
    names = [t.name for t in TEMPLATES.iterdir() if t.name.endswith(".html")]
    assert len(names) >= 10
    for name in names:
        text = (TEMPLATES / name).read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text, flags=re.I):
            assert re.search(r'\bsrc="/static/[^"]+\.js"', tag), f"{name}: inline <script> {tag}"
        assert not re.search(r"\son[a-z]+\s*=", text, flags=re.I), f"{name}: an on...= handler"
        assert "javascript:" not in text.lower(), f"{name}: a javascript: URL"
        assert not re.search(r"\sstyle\s*=", text, flags=re.I), (
            f"{name}: an inline style (CSP style-src 'self')"
        )
        assert "|safe" not in text and "autoescape false" not in text, f"{name}: escaping switched off"


async def test_every_page_has_the_csp_forbidding_inline_script(backoffice: Any) -> None:
    login = await backoffice.http.get("/login")
    csp = login.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert login.headers["x-content-type-options"] == "nosniff"
    await backoffice.sign_in("bill")
    page = await backoffice.http.get("/clients")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    missing = await backoffice.http.get("/no/such/page")
    assert missing.status_code == 404 and "script-src 'self'" in missing.headers["content-security-policy"]
    assert "There is no such page" in missing.text


async def test_markup_in_a_client_name_and_labels_shows_as_text(backoffice: Any) -> None:
    """Whatever markup the API lets through (names, addresses, labels) is shown as text, never as markup.

    The invoicing API may refuse `<` `>` in some fields; then the quote and ampersand still must be
    escaped, and the fields it accepts carry the markup."""
    admin = backoffice.api_headers("admin")
    api = backoffice.invoicing
    address = {"line1": "<b>1 rue</b>", "postcode": "75001", "city": "Paris", "country": "FR"}
    accepted: list[str] = []
    created = await api.post("/api/v1/clients", json={"name": MARKUP, "address": address}, headers=admin)
    if created.status_code == 201:
        accepted += [MARKUP, "<b>1 rue</b>"]
    else:  # names and addresses refuse markup: a name that still needs escaping
        plain = {**address, "line1": "1 rue"}
        created = await api.post(
            "/api/v1/clients", json={"name": 'O\'Brien & "Fils"', "address": plain}, headers=admin
        )
        assert created.status_code == 201, created.text
    client = created.json()
    article = {"code": "GW", "label": "<i>Goodwill</i>", "kind": "credit_note", "unit_price": "-1",
               "vat_rate": "20.00", "accounting_account": "709000"}  # fmt: skip
    if (await api.post("/api/v1/articles", json=article, headers=admin)).status_code == 201:
        accepted.append("<i>Goodwill</i>")
    else:
        article["label"] = "Goodwill"
        assert (await api.post("/api/v1/articles", json=article, headers=admin)).status_code == 201
    item = {"article_code": "GW", "quantity": "1", "unit_price": "-1.00", "label": MARKUP}
    if (
        await api.post(f"/api/v1/clients/{client['id']}/one-time-items", json=item, headers=admin)
    ).status_code == 201:
        accepted.append(MARKUP)
    assert accepted, "the API refused markup everywhere: nothing left to escape"
    await backoffice.sign_in("bill")
    record = await backoffice.http.get(f"/clients/{client['id']}")
    assert record.status_code == 200
    for raw in accepted:
        assert raw not in record.text
        assert html.escape(raw, quote=True).replace("&#x27;", "&#39;") in record.text.replace(
            "&#34;", "&quot;"
        )
    assert "<script>" not in record.text.split("</header>")[1]
    name = client["name"]
    listing = await backoffice.http.get("/clients", params={"q": name[:6]})
    assert html.escape(name, quote=True).replace("&#x27;", "&#39;") in listing.text.replace("&#34;", "&quot;")
    assert (name not in listing.text) or name == html.escape(name)


async def test_a_state_changing_post_without_csrf_is_refused_and_changes_nothing(backoffice: Any) -> None:
    admin = backoffice.api_headers("admin")
    client = (
        await backoffice.invoicing.post(
            "/api/v1/clients",
            json={
                "name": "Acme",
                "address": {"line1": "1 rue", "postcode": "75001", "city": "Paris", "country": "FR"},
            },
            headers=admin,
        )
    ).json()
    contact = (
        await backoffice.invoicing.post(
            f"/api/v1/clients/{client['id']}/contacts",
            json={"name": "Compta", "email": "compta@acme.test", "invoice_recipient": False},
            headers=admin,
        )
    ).json()
    await backoffice.sign_in("bill")
    path = f"/clients/{client['id']}/contacts/{contact['id']}/recipient"
    for data in ({"recipient": "on"}, {"recipient": "on", "csrf_token": "f" * 64}):
        refused = await backoffice.http.post(path, data=data)
        assert refused.status_code == 403 and "nothing was done" in refused.text
    contacts = (
        await backoffice.invoicing.get(f"/api/v1/clients/{client['id']}/contacts", headers=admin)
    ).json()
    assert contacts[0]["invoice_recipient"] is False
    token = await backoffice.csrf_of(f"/clients/{client['id']}")
    done = await backoffice.http.post(path, data={"recipient": "on", "csrf_token": token})
    assert done.status_code == 303
    contacts = (
        await backoffice.invoicing.get(f"/api/v1/clients/{client['id']}/contacts", headers=admin)
    ).json()
    assert contacts[0]["invoice_recipient"] is True


async def test_a_gateway_bearer_token_is_accepted_instead_of_the_cookie(backoffice: Any) -> None:
    page = await backoffice.http.get("/clients", headers=backoffice.bearer("billing", sub="carol"))
    assert page.status_code == 200 and "carol" in page.text
    assert "ll_session" not in page.headers.get("set-cookie", "")
    forged = {
        "Authorization": "Bearer " + backoffice.bearer("admin")["Authorization"].split()[1][:-4] + "AAAA"
    }
    assert (await backoffice.http.get("/clients", headers=forged)).status_code == 303  # to the sign-in form


async def test_bearer_users_post_with_their_own_csrf_token(backoffice: Any) -> None:
    """Behind an identity provider the gateway adds the header to every request, like a cookie: CSRF holds."""
    headers = backoffice.bearer("billing", sub="carol")
    token = await backoffice.csrf_of("/clients", headers=headers)
    assert (await backoffice.http.post("/logout", data={}, headers=headers)).status_code == 403
    assert (
        await backoffice.http.post("/logout", data={"csrf_token": token}, headers=headers)
    ).status_code == 303


@pytest.mark.parametrize(("roles", "status"), [(None, 401), (("billing",), 403), (("readonly",), 403)])
async def test_ops_token_refuses_without_admin_or_ops(backoffice: Any, roles: Any, status: int) -> None:
    headers = backoffice.bearer(*roles) if roles else {}
    answer = await backoffice.http.get("/auth/ops-token", headers=headers)
    assert answer.status_code == status and "x-ledgerline-token" not in answer.headers


async def test_ops_token_gives_admin_and_ops_their_token(backoffice: Any) -> None:
    from ledgerline_shared.auth import decode_token

    await backoffice.sign_in("ada")
    answer = await backoffice.http.get("/auth/ops-token")
    assert answer.status_code == 200
    principal = decode_token(backoffice.settings, answer.headers["x-ledgerline-token"])
    assert principal.sub == "ada" and "admin" in principal.roles
    ops = await backoffice.http.get("/auth/ops-token", headers=backoffice.bearer("ops", sub="olga"))
    assert (
        ops.status_code == 200
        and decode_token(backoffice.settings, ops.headers["x-ledgerline-token"]).sub == "olga"
    )
