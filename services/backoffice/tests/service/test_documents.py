"""A month billed from the Pre-production screen, then its invoice's consumption, CSV and credit notes,
all through the back office against the real invoicing API (its own setup helpers seed the operator)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from types import SimpleNamespace
from typing import Any

from invoicing_api_setup import call, operator, post

TODAY = dt.date.today()
PERIOD = (TODAY.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
MONTH = TODAY.strftime("%Y-%m")  # documents are listed by the month they were issued in


async def billed_invoice(backoffice: Any) -> str:
    """One client with 120 calls last month, billed by a production run started from the screen."""
    api = SimpleNamespace(http=backoffice.invoicing, token=lambda *roles: backoffice.api_headers(*roles))
    await operator(api, 1)
    calls = [
        call(
            f"c{i:03d}",
            "ACME1",
            "+33 6 12 34 56 78",
            30 + i,
            started_at=f"{PERIOD}-{1 + i % 28:02d}T10:00:00+01:00",
        )
        for i in range(120)
    ]
    await post(api, "/api/v1/usage", calls, expect=200)
    await backoffice.sign_in("bill")
    token = await backoffice.csrf_of(f"/pre-production?period={PERIOD}")
    started = await backoffice.http.post(
        "/pre-production", data={"csrf_token": token, "period": PERIOD, "mode": "production"}
    )
    assert started.status_code == 303
    run_id = re.search(r"run=([0-9a-f-]+)", started.headers["location"]).group(1)  # type: ignore[union-attr]
    seen = []
    for _ in range(240):
        state = (await backoffice.http.get(f"/pre-production/runs/{run_id}/progress")).json()
        seen.append(state["percent"])
        if state["finished"]:
            break
        await asyncio.sleep(0.25)
    assert state["status"] == "completed" and state["percent"] == 100 and seen == sorted(seen), (state, seen)
    page = await backoffice.http.get(started.headers["location"])
    assert "Production run of" in page.text and "pill-completed" in page.text and "<progress" in page.text
    listing = (
        await backoffice.invoicing.get(
            "/api/v1/invoices",
            params={"month": MONTH, "type": "invoice"},
            headers=backoffice.api_headers("admin"),
        )
    ).json()
    assert listing["total"] == 1
    return str(listing["items"][0]["number"])


async def test_the_rated_calls_of_an_invoice_and_their_csv(backoffice: Any) -> None:
    number = await billed_invoice(backoffice)
    admin = backoffice.api_headers("admin")
    reference = (
        await backoffice.invoicing.get(
            f"/api/v1/invoices/{number}/consumption", params={"page_size": 100}, headers=admin
        )
    ).json()
    page = await backoffice.http.get(f"/invoices/{number}/consumption")
    assert page.status_code == 200
    rows = re.findall(r"<tr>\s*<td>[^<]*UTC</td>", page.text)
    assert len(rows) == 100 and reference["total"] == 120
    assert "1–100 of 120" in page.text and 'rel="next"' in page.text
    second = await backoffice.http.get(f"/invoices/{number}/consumption", params={"page": 2})
    assert len(re.findall(r"<tr>\s*<td>[^<]*UTC</td>", second.text)) == 20
    csv_through_us = await backoffice.http.get(f"/invoices/{number}/consumption.csv")
    direct = await backoffice.invoicing.get(f"/api/v1/invoices/{number}/consumption.csv", headers=admin)
    assert csv_through_us.status_code == 200 and csv_through_us.content == direct.content
    assert len(csv_through_us.text.strip().splitlines()) == 121
    assert "attachment" in csv_through_us.headers["content-disposition"]


async def test_cancel_with_a_reason_then_refuse_a_second_time(backoffice: Any) -> None:
    number = await billed_invoice(backoffice)
    admin = backoffice.api_headers("admin")
    form = await backoffice.http.get("/tools/credit-note", params={"number": number})
    assert form.status_code == 200 and number in form.text
    token = await backoffice.csrf_of("/tools/credit-note")
    done = await backoffice.http.post(
        "/tools/credit-note",
        data={"csrf_token": token, "number": number, "mode": "cancel", "reason": "Billed twice"},
    )
    assert done.status_code == 303
    note = done.headers["location"].split("/invoices/")[1].split("?")[0]
    detail = (await backoffice.invoicing.get(f"/api/v1/invoices/{number}", headers=admin)).json()
    assert detail["status"] == "cancelled" and detail["credit_notes"] == [note]
    page = await backoffice.http.get(done.headers["location"])
    assert "Credit note issued and linked to its invoice." in page.text
    assert f'href="/invoices/{number}"' in page.text and "Billed twice" in page.text

    again = await backoffice.http.post(
        "/tools/credit-note",
        data={"csrf_token": token, "number": number, "mode": "cancel", "reason": "Again"},
    )
    assert again.status_code in (409, 422) and "alert-error" in again.text
    detail = (await backoffice.invoicing.get(f"/api/v1/invoices/{number}", headers=admin)).json()
    assert detail["credit_notes"] == [note]


async def test_a_partial_credit_beyond_the_remaining_amount_is_refused(backoffice: Any) -> None:
    number = await billed_invoice(backoffice)
    token = await backoffice.csrf_of("/tools/credit-note")
    data = {"csrf_token": token, "number": number, "mode": "partial", "reason": "Outage",
            "line-0-label": "Service credit", "line-0-quantity": "1", "line-0-unit_price": "100000",
            "line-0-vat_rate": "20"}  # fmt: skip
    refused = await backoffice.http.post("/tools/credit-note", data=data)
    assert (
        refused.status_code == 422
        and "exceeds" in refused.text
        and "Correct it and try again." in refused.text
    )
    assert 'value="Service credit"' in refused.text  # the form keeps what was typed
    data["line-0-unit_price"] = "10,00"
    done = await backoffice.http.post("/tools/credit-note", data=data)
    assert done.status_code == 303
    detail = (
        await backoffice.invoicing.get(f"/api/v1/invoices/{number}", headers=backoffice.api_headers("admin"))
    ).json()
    assert detail["status"] == "partially_credited" and detail["credited_total"] == "12.00"
