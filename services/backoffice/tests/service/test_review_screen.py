"""Pre-production's review of a preview run and its four-eyes approval (issue 15 part 4), against the
real invoicing API: February produced for three clients, March previewed with flags tripped."""

from __future__ import annotations

import csv
import io
import re
from types import SimpleNamespace
from typing import Any

from invoicing_api_setup import call, client_body, get, operator, post

FEB, MARCH = "2026-02", "2026-03"
IN_FEB = "2026-02-10T10:00:00+01:00"
MARKUP = "<script>alert(1)</script> & Fils"
COUNT = re.compile(r'data-count="([a-z_]+)">(\d+)<')
FLAGGED = re.compile(r'data-flagged="([0-9a-f-]+)"')
ACTION = re.compile(r'data-action="([a-z-]+)"')
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def api(backoffice: Any) -> Any:
    """The invoicing app as invoicing's own test helpers expect it (requests as `alice`)."""
    return SimpleNamespace(
        http=backoffice.invoicing,
        app=backoffice.invoicing_app,
        token=lambda *roles, sub="alice": backoffice.api_headers(*roles, sub=sub),
    )


async def operator_with_march(backoffice: Any) -> dict[str, Any]:
    """ACME1..3 billed in February; in March ACME1 takes three more lines (total change), ACME2 has
    no call (a feed may be missing), and a new client with markup in its name starts mid-month with
    sixty lines (a large first invoice, prorated)."""
    invoicing = api(backoffice)
    made = {c["code"]: c for c in await operator(invoicing, 3)}
    for n, client in enumerate(made.values(), start=1):
        await post(
            invoicing,
            f"/api/v1/clients/{client['id']}/subscriptions",
            {"article_code": "LINE", "quantity": "1", "start_date": "2026-01-01"},
        )
        await post(
            invoicing,
            "/api/v1/usage",
            [call(f"feb-{n}", client["code"], "33140000000", 60, started_at=IN_FEB)],
            200,
        )
    started = await post(invoicing, "/api/v1/billing-runs", {"period": FEB, "mode": "production"}, 202)
    await backoffice.invoicing_app.state.billing_runner.wait(started["id"])
    await post(
        invoicing,
        "/api/v1/usage",
        [call("mar-1", "ACME1", "33140000000", 600), call("mar-3", "ACME3", "33140000000", 60)],
        200,
    )
    await post(
        invoicing,
        f"/api/v1/clients/{made['ACME1']['id']}/subscriptions",
        {"article_code": "LINE", "quantity": "3", "start_date": "2026-01-01"},
    )
    newco = await post(invoicing, "/api/v1/clients", client_body("NEWCO", MARKUP))
    await post(
        invoicing,
        f"/api/v1/clients/{newco['id']}/contacts",
        {"name": "AP", "email": "ap@newco.test", "invoice_recipient": True},
    )
    await post(
        invoicing,
        f"/api/v1/clients/{newco['id']}/subscriptions",
        {"article_code": "LINE", "quantity": "60", "start_date": "2026-03-17"},
    )
    made["NEWCO"] = newco
    backoffice.invoicing_settings.run_approval_required = True
    return made


async def start_from_screen(backoffice: Any, mode: str) -> Any:
    page = await backoffice.http.get(f"/pre-production?period={MARCH}")
    token = CSRF.search(page.text)
    assert token, "no start form"
    return await backoffice.http.post(
        "/pre-production", data={"period": MARCH, "mode": mode, "csrf_token": token.group(1)}
    )


async def preview_from_screen(backoffice: Any) -> str:
    answer = await start_from_screen(backoffice, "preview")
    assert answer.status_code == 303, answer.text
    run_id = re.search(r"run=([0-9a-f-]+)", answer.headers["location"])
    assert run_id
    await backoffice.invoicing_app.state.billing_runner.wait(run_id.group(1))
    return run_id.group(1)


async def review_of(backoffice: Any, run_id: str, **params: Any) -> dict[str, Any]:
    review: dict[str, Any] = await get(api(backoffice), f"/api/v1/billing-runs/{run_id}/review", **params)
    return review


async def approve(backoffice: Any, run_id: str, **fields: Any) -> Any:
    page = await backoffice.http.get(f"/pre-production?period={MARCH}")
    token = CSRF.search(page.text)
    assert token
    return await backoffice.http.post(
        f"/pre-production/runs/{run_id}/approve",
        data={"period": MARCH, "csrf_token": token.group(1), **fields},
    )


async def test_the_review_shows_the_apis_counts_filters_by_flag_and_escapes_names(backoffice: Any) -> None:
    made = await operator_with_march(backoffice)
    await backoffice.sign_in("bill")
    run_id = await preview_from_screen(backoffice)
    review = await review_of(backoffice, run_id)
    assert review["counts"]["total_change"] == 1 and review["counts"]["large_first_invoice"] == 1

    page = await backoffice.http.get(f"/pre-production?period={MARCH}")
    assert page.status_code == 200
    assert {code: int(n) for code, n in COUNT.findall(page.text)} == review["counts"]
    shown = FLAGGED.findall(page.text)
    assert shown == [item["document_id"] for item in review["flagged"]["items"]]  # by impact, as the API
    assert len(shown) == review["flagged_previews"] == 3
    # The client's name is text, never markup.
    assert MARKUP not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Fils" in page.text
    assert 'data-download="review-csv"' in page.text  # a download, not an action: readonly has it too

    only = await backoffice.http.get(f"/pre-production?period={MARCH}&flag=total_change")
    expected = await review_of(backoffice, run_id, flag="total_change")
    assert FLAGGED.findall(only.text) == [i["document_id"] for i in expected["flagged"]["items"]]
    assert len(FLAGGED.findall(only.text)) == 1 and expected["flagged"]["items"][0]["client_code"] == "ACME1"
    nonsense = await backoffice.http.get(f"/pre-production?period={MARCH}&flag=<b>")
    assert nonsense.status_code == 200 and len(FLAGGED.findall(nonsense.text)) == 3

    sheet = await backoffice.http.get(f"/pre-production/runs/{run_id}/review.csv")
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(sheet.text)))
    assert len(rows) == sum(review["counts"].values())
    assert {r["client_code"] for r in rows} == {"ACME1", "ACME2", "NEWCO"}

    # The flagged preview beside the client's last invoice; the new client's has none.
    first = next(i for i in review["flagged"]["items"] if i["client_code"] == "ACME1")
    side = await backoffice.http.get(f"/pre-production/runs/{run_id}/previews/{first['document_id']}")
    assert side.status_code == 200
    assert 'data-side="preview"' in side.text and first["last_invoice"]["number"] in side.text
    assert first["flags"][0]["sentence"].split(",")[0] in side.text
    new = next(i for i in review["flagged"]["items"] if i["client_code"] == "NEWCO")
    side = await backoffice.http.get(f"/pre-production/runs/{run_id}/previews/{new['document_id']}")
    assert "no earlier invoice" in side.text and MARKUP not in side.text
    # Its prorated line reads as the PDF prints it, its usage with a unit.
    assert "25,00\u00a0€ × 15/31\u00a0jours" in side.text
    acme1 = await backoffice.http.get(f"/invoices/{first['document_id']}")
    assert "10\u00a0min" in acme1.text
    assert made["ACME1"]["id"]


async def test_four_eyes_from_the_screens_then_production(backoffice: Any) -> None:
    await operator_with_march(backoffice)
    await backoffice.sign_in("bill")
    run_id = await preview_from_screen(backoffice)
    invoicing = api(backoffice)

    # Production without an approval: the API's 409 sentence, not a silent failure.
    refused = await start_from_screen(backoffice, "production")
    assert refused.status_code == 409
    assert "Production of 2026-03 needs an approved preview" in refused.text

    # Bill started the preview: no approve button, a sentence; forcing the form gets the API's sentence.
    page = await backoffice.http.get(f"/pre-production?period={MARCH}")
    assert "data-own-run" in page.text and "approve-run" not in ACTION.findall(page.text)
    forced = await approve(backoffice, run_id, comment="looks fine")
    assert forced.status_code == 403 and "a second person must approve it" in forced.text
    assert "data-approval-error" in forced.text
    assert await get(invoicing, f"/api/v1/billing-runs/{run_id}/approvals") == []

    # A reader sees the review but no action, and cannot post one.
    await backoffice.sign_out()
    await backoffice.sign_in("rory")
    page = await backoffice.http.get(f"/pre-production?period={MARCH}")
    assert page.status_code == 200 and COUNT.search(page.text)
    assert not {"approve-run", "run-production"} & set(ACTION.findall(page.text))
    assert (await backoffice.http.post(f"/pre-production/runs/{run_id}/approve", data={})).status_code == 403

    # Ada, a second person: blocking flags need a word or each acknowledged.
    await backoffice.sign_out()
    await backoffice.sign_in("ada")
    page = await backoffice.http.get(f"/pre-production?period={MARCH}")
    assert "approve-run" in ACTION.findall(page.text)
    bare = await approve(backoffice, run_id)
    assert bare.status_code == 422 and "acknowledge each of them or write a comment" in bare.text
    assert await get(invoicing, f"/api/v1/billing-runs/{run_id}/approvals") == []
    review = await review_of(backoffice, run_id)
    blocking = [c for c in review["blocking_flags"] if review["counts"][c]]
    done = await approve(backoffice, run_id, acknowledged_flags=blocking, comment="Checked <b>with</b> sales")
    assert done.status_code == 303, done.text
    (approval,) = await get(invoicing, f"/api/v1/billing-runs/{run_id}/approvals")
    assert approval["approved_by"] == "ada" and approval["stands"]
    assert sorted(approval["acknowledged_flags"]) == sorted(blocking)
    page = await backoffice.http.get(f"/pre-production?period={MARCH}")
    assert f'data-approval="{approval["id"]}"' in page.text and "Ada Admin" in page.text
    assert "Checked &lt;b&gt;with&lt;/b&gt; sales" in page.text and ">stands<" in page.text

    started = await start_from_screen(backoffice, "production")
    assert started.status_code == 303, started.text
    production = re.search(r"run=([0-9a-f-]+)", started.headers["location"])
    assert production
    await backoffice.invoicing_app.state.billing_runner.wait(production.group(1))
    state = await get(invoicing, f"/api/v1/billing-runs/{production.group(1)}")
    assert state["status"] == "completed" and len(state["documents"]) == 4
    # Production spent the approval: the list says so, and why.
    page = await backoffice.http.get(f"/pre-production?period={MARCH}")
    assert "no longer stands" in page.text and "changed since" in page.text
