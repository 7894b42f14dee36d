"""What a browser is protected from: forged posts, markup in billing data, a readable session cookie."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from browser_support import shot, sign_in
from playwright.async_api import Browser
from site_support import Site

pytestmark = pytest.mark.stack

MARKUP = '<img src=x onerror="alert(1)"><b>Bold</b> & <script>alert(2)</script>'


async def test_session_cookie_is_httponly_and_samesite(browser: Browser, site: Site) -> None:
    page = await sign_in(browser, site, "billing")
    cookies = await page.context.cookies()
    assert cookies, "signed in without a cookie"
    for cookie in cookies:
        assert cookie["httpOnly"], cookie
        assert cookie["sameSite"] == "Strict", cookie
    # Script on the page cannot read it.
    assert await page.evaluate("document.cookie") == ""
    await page.context.close()


async def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    browser: Browser, site: Site
) -> None:
    month = dt.date.today().strftime("%Y-%m")
    with site.api() as api:
        invoices = api.get("/invoices", params={"month": month, "type": "invoice"}).json()["items"]
    number = invoices[0]["number"]  # the oldest of the demo's: rendered long ago
    with site.api("rendering") as rendering:
        versions = rendering.get(f"/documents/{number}")
        assert versions.status_code == 200, versions.text
        before = versions.json()["generation_count"]
    page = await sign_in(browser, site, "billing")
    # The session cookie goes with it (same origin), but the form's token does not.
    forged = await page.context.request.post(f"/invoices/{number}/regenerate", form={"csrf_token": "forged"})
    assert forged.status in (400, 403), forged.status
    bare = await page.context.request.post(f"/invoices/{number}/regenerate")
    assert bare.status in (400, 403), bare.status
    text = await forged.text()
    assert "Traceback" not in text and not text.lstrip().startswith("{"), text[:300]
    with site.api("rendering") as rendering:
        assert rendering.get(f"/documents/{number}").json()["generation_count"] == before
    await page.context.close()


async def test_markup_in_client_names_and_labels_shows_as_text(browser: Browser, site: Site) -> None:
    suffix = uuid.uuid4().hex[:6]
    with site.api() as api:
        client = api.post(
            "/clients",
            json={
                # Names refuse < > (the invoicing API's rule); an ampersand and quotes still need escaping.
                "name": f"O'Brien & Fils {suffix}",
                "address": {
                    "line1": "1 rue de la Paix",
                    "postcode": "75001",
                    "city": "Paris",
                    "country": "FR",
                },
                "language": "fr",
            },
        )
        assert client.status_code == 201, client.text
        client_id = client.json()["id"]
        item = api.post(
            f"/clients/{client_id}/one-time-items",
            json={"article_code": "GOODWILL", "quantity": "1", "unit_price": "-1.00", "label": MARKUP},
        )
        assert item.status_code == 201, item.text
    page = await sign_in(browser, site, "billing")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))  # an alert() would be injected script
    await page.goto(f"/clients/{client_id}")
    await page.wait_for_load_state("networkidle")
    await shot(page, "markup-client")
    main = page.locator("main")
    text = await main.inner_text()
    assert "<b>Bold</b>" in text and "<script>alert(2)</script>" in text
    assert f"O'Brien & Fils {suffix}" in text
    assert await main.locator("b:has-text('Bold'), img[src=x], script").count() == 0
    assert dialogs == []
    await page.goto(f"/clients?q={suffix}")
    assert f"O'Brien & Fils {suffix}" in await page.inner_text("main")
    await shot(page, "markup-clients")
    assert dialogs == []
    await page.context.close()
