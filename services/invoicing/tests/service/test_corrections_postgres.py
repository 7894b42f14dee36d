"""Credit notes on PostgreSQL, where transactions really run side by side: the invoice row lock
(SELECT ... FOR UPDATE) must turn simultaneous cancellations into exactly one credit note, and
simultaneous partial credits into no more than what remains."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal as D
from typing import Any

from ledgerline_invoicing.entrypoints.subscribers_corrections import credit_note_requested
from ledgerline_shared.cloudevents import Envelope
from ledgerline_shared.contracts.events import CreditNoteRequested
from ledgerline_shared.messaging.consumer import Inbound, PermanentError
from ledgerline_shared.topics import CREDITNOTE_ISSUED, CREDITNOTE_REQUESTED

YEAR = dt.date.today().year
CLIENT = {
    "name": "ACME SARL",
    "address": {"line1": "1 rue A", "postcode": "75001", "city": "Paris", "country": "FR"},
}


async def issue_invoices(inv: Any, count: int) -> list[str]:
    """`count` clients, each with a 58.55 invoice (40.00 at 20 %, 10.00 at 5.5 %), from one run."""
    h = inv.token("billing")
    for code, price, rate in (("SETUP", "20.00", "20.00"), ("GUIDE", "10.00", "5.50")):
        await inv.http.post(
            "/api/v1/articles",
            json={
                "code": code,
                "label": code.title(),
                "kind": "one_time",
                "unit_price": price,
                "vat_rate": rate,
                "accounting_account": "706100",
            },
            headers=h,
        )
    for _ in range(count):
        client = (await inv.http.post("/api/v1/clients", json=CLIENT, headers=h)).json()
        for code, quantity in (("SETUP", "2"), ("GUIDE", "1")):
            await inv.http.post(
                f"/api/v1/clients/{client['id']}/one-time-items",
                json={"article_code": code, "quantity": quantity},
                headers=h,
            )
    run = await inv.http.post(
        "/api/v1/billing-runs", json={"period": "2026-03", "mode": "production"}, headers=h
    )
    await inv.app.state.billing_runner.wait(run.json()["id"])
    documents: list[str] = (await inv.http.get(f"/api/v1/billing-runs/{run.json()['id']}", headers=h)).json()[
        "documents"
    ]
    assert len(documents) == count
    return sorted(documents)


async def detail(inv: Any, number: str) -> dict[str, Any]:
    result: dict[str, Any] = (
        await inv.http.get(f"/api/v1/invoices/{number}", headers=inv.token("readonly"))
    ).json()
    return result


async def test_simultaneous_cancellations_yield_exactly_one_credit_note(invoicing_pg: Any) -> None:
    inv = invoicing_pg
    numbers = await issue_invoices(inv, 3)
    h = inv.token("billing")
    # Four cancellations of each invoice, all at once (twelve transactions in flight).
    answers = await asyncio.gather(
        *(
            inv.http.post(f"/api/v1/invoices/{number}/cancel", json={"reason": f"try {i}"}, headers=h)
            for number in numbers
            for i in range(4)
        )
    )
    by_invoice: dict[str, list[int]] = {}
    for answer, number in zip(answers, [n for n in numbers for _ in range(4)], strict=True):
        by_invoice.setdefault(number, []).append(answer.status_code)
        if answer.status_code == 422:
            assert "already cancelled" in answer.text
    assert all(sorted(codes) == [201, 422, 422, 422] for codes in by_invoice.values()), by_invoice

    events = await inv.outbox(CREDITNOTE_ISSUED)
    assert sorted(e["key"] for e in events) == [f"AV{YEAR}-{n:06d}" for n in (1, 2, 3)]  # gapless
    assert sorted(e["data"]["references"][0]["number"] for e in events) == numbers
    for number in numbers:
        invoice = await detail(inv, number)
        assert invoice["status"] == "cancelled" and invoice["credited_total"] == "58.55"
        assert len(invoice["credit_notes"]) == 1


async def test_simultaneous_partial_credits_never_pass_what_remains(invoicing_pg: Any) -> None:
    inv = invoicing_pg
    [number] = await issue_invoices(inv, 1)
    h = inv.token("billing")
    line = {"label": "Goodwill", "quantity": "1", "unit_price": "15.00", "vat_rate": "20.00"}
    # 40.00 remain at 20 %: of five credits of 15.00 at once, exactly two fit.
    answers = await asyncio.gather(
        *(
            inv.http.post(
                f"/api/v1/invoices/{number}/credit-notes", json={"reason": "r", "lines": [line]}, headers=h
            )
            for _ in range(5)
        )
    )
    assert sorted(a.status_code for a in answers) == [201, 201, 422, 422, 422]
    invoice = await detail(inv, number)
    assert invoice["status"] == "partially_credited" and invoice["credited_total"] == "36.00"
    assert len(invoice["credit_notes"]) == 2 and len(await inv.outbox(CREDITNOTE_ISSUED)) == 2


async def test_cancellation_by_api_and_by_topic_at_once_yield_one_credit_note(invoicing_pg: Any) -> None:
    inv = invoicing_pg
    [number] = await issue_invoices(inv, 1)
    runtime = inv.app.state.runtime
    handler = credit_note_requested(runtime, inv.settings)

    async def by_topic(request_id: str) -> str:
        request = CreditNoteRequested(invoice_number=number, reason="crm", request_id=request_id)
        event = Inbound(
            Envelope.new(source="/crm", type=CREDITNOTE_REQUESTED),
            request,
            number,
            CREDITNOTE_REQUESTED,
            0,
            0,
        )
        try:
            async with runtime.sessions() as session, session.begin():
                await handler(event, session)
        except PermanentError as refusal:
            return f"refused: {refusal}"
        return "done"

    async def by_api() -> str:
        answer = await inv.http.post(
            f"/api/v1/invoices/{number}/cancel", json={"reason": "api"}, headers=inv.token("billing")
        )
        return "done" if answer.status_code == 201 else f"refused: {answer.text}"

    # The same request_id twice (a redelivered request) and a cancellation through the API.
    outcomes = await asyncio.gather(by_topic("r-1"), by_topic("r-1"), by_api())
    done = [o for o in outcomes if o == "done"]
    # One of them cancels; the duplicate request is a quiet no-op or, if the API won, a refusal.
    assert 1 <= len(done) <= 2 and all("already cancelled" in o for o in outcomes if o != "done"), outcomes
    events = await inv.outbox(CREDITNOTE_ISSUED)
    assert len(events) == 1 and D(events[0]["data"]["totals"]["gross_total"]) == D("58.55")
    assert (await detail(inv, number))["status"] == "cancelled"
