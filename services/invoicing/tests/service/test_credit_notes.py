"""Method A (cancellation) and partial credit notes, through the HTTP API and the
creditnote.requested handler, on SQLite. Every success ends in a numbered credit note, linked both
ways, whose creditnote.issued event is read back from the outbox table; every refusal is a 4xx
(or a PermanentError for the topic) with nothing changed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal as D
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invoicing_kafka_recorder import KafkaRecorder
from sqlalchemy import select

from ledgerline_invoicing.adapters.orm import ClientRow, DocumentRow
from ledgerline_invoicing.domain.errors import CreditRefused
from ledgerline_invoicing.domain.lines import DraftLine
from ledgerline_invoicing.entrypoints.subscribers_corrections import credit_note_requested
from ledgerline_invoicing.service import commands, credit_notes
from ledgerline_invoicing.service.commands import CancelInvoice, CreditPartially
from ledgerline_invoicing.service.issuing import issue_document
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_shared.cloudevents import Envelope
from ledgerline_shared.contracts.document import Document, DocumentType
from ledgerline_shared.contracts.events import CreditLine, CreditNoteRequested
from ledgerline_shared.messaging.consumer import Inbound, PermanentError
from ledgerline_shared.topics import CREDITNOTE_ISSUED, CREDITNOTE_REQUESTED, INVOICE_SEND_REQUESTED

YEAR = dt.date.today().year
MONTH = dt.date.today().strftime("%Y-%m")
CLIENT = {
    "name": "ACME SARL",
    "address": {"line1": "1 rue A", "postcode": "75001", "city": "Paris", "country": "FR"},
}


async def issue_invoice(inv: Any, period: str = "2026-03") -> dict[str, Any]:
    """An invoice through the real path: catalog, folder, production run. Net 50.00 (40.00 at 20 %,
    10.00 at 5.5 %), tax 8.55, gross 58.55."""
    h = inv.token("billing")
    client = (await inv.http.post("/api/v1/clients", json=CLIENT, headers=h)).json()
    await inv.http.post(
        f"/api/v1/clients/{client['id']}/contacts",
        json={"name": "Jane Doe", "email": "jane@acme.test", "invoice_recipient": True},
        headers=h,
    )
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
        )  # the second client's call finds it already there (409), which is fine
    for code, quantity in (("SETUP", "2"), ("GUIDE", "1")):
        added = await inv.http.post(
            f"/api/v1/clients/{client['id']}/one-time-items",
            json={"article_code": code, "quantity": quantity},
            headers=h,
        )
        assert added.status_code == 201, added.text
    run = await inv.http.post(
        "/api/v1/billing-runs",
        json={"period": period, "mode": "production", "client_ids": [client["id"]]},
        headers=h,
    )
    run_id = run.json()["id"]
    await inv.app.state.billing_runner.wait(run_id)
    done = (await inv.http.get(f"/api/v1/billing-runs/{run_id}", headers=h)).json()
    assert done["status"] == "completed" and len(done["documents"]) == 1, done
    invoice = (await inv.http.get(f"/api/v1/invoices/{done['documents'][0]}", headers=h)).json()
    assert invoice["gross_total"] == "58.55" and invoice["status"] == "issued"
    return invoice


async def state(inv: Any, number: str) -> tuple[Any, ...]:
    """What a refusal must leave untouched."""
    h = inv.token("readonly")
    detail = (await inv.http.get(f"/api/v1/invoices/{number}", headers=h)).json()
    notes = (await inv.http.get(f"/api/v1/invoices?month={MONTH}&type=credit_note", headers=h)).json()
    return (
        detail["status"],
        detail["credited_total"],
        tuple(detail["credit_notes"]),
        notes["total"],
        len(await inv.outbox(CREDITNOTE_ISSUED)),
    )


def line(amount: str, rate: str = "20.00", quantity: str = "1", label: str = "Goodwill") -> dict[str, str]:
    return {"label": label, "quantity": quantity, "unit_price": amount, "vat_rate": rate}


# -- method A through the API ------------------------------------------------------------------
async def test_cancellation_issues_a_linked_credit_note_for_the_whole_invoice(invoicing: Any) -> None:
    invoice = await issue_invoice(invoicing)
    number = invoice["number"]
    answer = await invoicing.http.post(
        f"/api/v1/invoices/{number}/cancel",
        json={"reason": "wrong client billed"},
        headers=invoicing.token("billing", sub="bob"),
    )
    assert answer.status_code == 201, answer.text
    note = answer.json()
    assert note["number"] == f"AV{YEAR}-000001" and note["type"] == "credit_note"
    assert note["references"] == [{"number": number, "issue_date": invoice["issue_date"]}]
    assert note["original_invoice"] == number
    assert note["reason"] == "wrong client billed" and note["requested_by"] == "bob"
    assert (note["net_total"], note["tax_total"], note["gross_total"]) == ("50.00", "8.55", "58.55")
    # Same lines as the invoice: nothing credited before.
    assert [(x["label"], x["net_amount"]) for x in note["lines"]] == [
        (x["label"], x["net_amount"]) for x in invoice["lines"]
    ]
    assert note["invoice"] == {
        "number": number,
        "status": "cancelled",
        "gross_total": "58.55",
        "credited_total": "58.55",
        "remaining": "0.00",
    }

    h = invoicing.token("readonly")
    original = (await invoicing.http.get(f"/api/v1/invoices/{number}", headers=h)).json()
    assert original["status"] == "cancelled" and original["credited_total"] == "58.55"
    assert original["credit_notes"] == [note["number"]]  # linked both ways
    listed = (await invoicing.http.get(f"/api/v1/invoices?month={MONTH}&type=credit_note", headers=h)).json()
    assert [d["number"] for d in listed["items"]] == [note["number"]]

    events = await invoicing.outbox(CREDITNOTE_ISSUED)
    assert len(events) == 1 and events[0]["key"] == note["number"]
    data = events[0]["data"]
    assert data["number"] == note["number"] and data["type"] == "credit_note"
    assert data["references"] == [{"number": number, "issue_date": invoice["issue_date"]}]
    assert data["reason"] == "wrong client billed" and data["requested_by"] == "bob"
    assert data["totals"]["gross_total"] == "58.55" and data["due_date"] is None
    assert [r["email"] for r in data["buyer"]["recipients"]] == ["jane@acme.test"]
    # The credit note is e-mailed by notification after rendering, not by a send request here.
    assert await invoicing.outbox(INVOICE_SEND_REQUESTED) == []


async def test_partial_credits_lead_to_partially_credited_then_credited(invoicing: Any) -> None:
    number = (await issue_invoice(invoicing))["number"]
    h = invoicing.token("billing", sub="carol")
    first = await invoicing.http.post(
        f"/api/v1/invoices/{number}/credit-notes",
        json={"reason": "one set-up too many", "lines": [line("10.00")]},
        headers=h,
    )
    assert first.status_code == 201, first.text
    assert first.json()["gross_total"] == "12.00" and first.json()["requested_by"] == "carol"
    assert first.json()["invoice"]["status"] == "partially_credited"
    assert first.json()["invoice"]["remaining"] == "46.55"

    rest = await invoicing.http.post(
        f"/api/v1/invoices/{number}/credit-notes",
        json={"reason": "the rest", "lines": [line("30.00"), line("10.00", rate="5.50", label="Guide")]},
        headers=h,
    )
    assert rest.status_code == 201, rest.text
    assert rest.json()["gross_total"] == "46.55"
    assert rest.json()["invoice"]["status"] == "credited" and rest.json()["invoice"]["remaining"] == "0.00"

    original = (await invoicing.http.get(f"/api/v1/invoices/{number}", headers=h)).json()
    assert original["credit_notes"] == [f"AV{YEAR}-000001", f"AV{YEAR}-000002"]
    assert original["status"] == "credited" and original["credited_total"] == "58.55"
    events = await invoicing.outbox(CREDITNOTE_ISSUED)
    assert [e["key"] for e in events] == [f"AV{YEAR}-000001", f"AV{YEAR}-000002"]
    assert all(e["data"]["references"][0]["number"] == number for e in events)

    before = await state(invoicing, number)
    again = await invoicing.http.post(
        f"/api/v1/invoices/{number}/credit-notes", json={"reason": "more", "lines": [line("0.01")]}, headers=h
    )
    assert again.status_code == 422 and "credited" in again.text
    assert await state(invoicing, number) == before


async def test_cancelling_a_partly_credited_invoice_credits_what_remains(invoicing: Any) -> None:
    number = (await issue_invoice(invoicing))["number"]
    h = invoicing.token("billing")
    partial = await invoicing.http.post(
        f"/api/v1/invoices/{number}/credit-notes",
        json={"reason": "goodwill", "lines": [line("5.00")]},
        headers=h,
    )
    assert partial.status_code == 201
    cancelled = await invoicing.http.post(
        f"/api/v1/invoices/{number}/cancel", json={"reason": "void"}, headers=h
    )
    assert cancelled.status_code == 201, cancelled.text
    assert cancelled.json()["gross_total"] == "52.55"  # 58.55 - 6.00
    assert cancelled.json()["invoice"]["status"] == "cancelled"
    assert cancelled.json()["invoice"]["credited_total"] == "58.55"
    by_rate = {t["vat_rate"]: t["taxable_amount"] for t in cancelled.json()["tax_breakdown"]}
    assert by_rate == {"20.00": "35.00", "5.50": "10.00"}


# -- refusals through the API --------------------------------------------------------------------
async def _preview_id(inv: Any) -> str:
    h = inv.token("billing")
    other = (await inv.http.post("/api/v1/clients", json={**CLIENT, "name": "Other"}, headers=h)).json()
    await inv.http.post(
        f"/api/v1/clients/{other['id']}/one-time-items",
        json={"article_code": "SETUP", "quantity": "1"},
        headers=h,
    )
    run = await inv.http.post(
        "/api/v1/billing-runs",
        json={"period": "2026-04", "mode": "preview", "client_ids": [other["id"]]},
        headers=h,
    )
    await inv.app.state.billing_runner.wait(run.json()["id"])
    previews = (await inv.http.get("/api/v1/previews?period=2026-04", headers=h)).json()
    assert len(previews) == 1 and previews[0]["number"] is None
    return str(previews[0]["id"])


async def _credit_note_number(inv: Any, number: str) -> str:
    done = await inv.http.post(
        f"/api/v1/invoices/{number}/credit-notes",
        json={"reason": "r", "lines": [line("1.00")]},
        headers=inv.token("billing"),
    )
    return str(done.json()["number"])


async def _proforma_number(inv: Any, number: str) -> str:
    h = inv.token("billing")
    client_id = (await inv.http.get(f"/api/v1/invoices/{number}", headers=h)).json()["client_id"]
    made = await inv.http.post(
        f"/api/v1/clients/{client_id}/proformas", json={"lines": [line("-5.00")]}, headers=h
    )
    return str(made.json()["number"])


CANCEL = ("cancel", {"reason": "void"})
PARTIAL = ("credit-notes", {"reason": "goodwill", "lines": [line("1.00")]})


@pytest.mark.parametrize(
    ("target", "action", "body", "code", "words"),
    [
        ("invoice", "cancel", {}, 422, "reason"),
        ("invoice", "cancel", {"reason": "   "}, 422, "reason"),
        ("invoice", "credit-notes", {"lines": [line("1.00")]}, 422, "reason"),
        ("invoice", "credit-notes", {"reason": "", "lines": [line("1.00")]}, 422, "reason"),
        ("invoice", "credit-notes", {"reason": "r", "lines": []}, 422, "lines"),
        ("unknown", *CANCEL, 404, "no document"),
        ("unknown", *PARTIAL, 404, "no document"),
        ("preview", *CANCEL, 422, "preview"),
        ("preview", *PARTIAL, 422, "preview"),
        ("credit_note", *CANCEL, 422, "credit note"),
        ("credit_note", *PARTIAL, 422, "credit note"),
        ("proforma", *CANCEL, 422, "proforma"),
        ("proforma", *PARTIAL, 422, "proforma"),
        ("invoice", "credit-notes", {"reason": "r", "lines": [line("40.01")]}, 422, "exceeds"),
        ("invoice", "credit-notes", {"reason": "r", "lines": [line("30.00"), line("10.01")]}, 422, "exceeds"),
        (
            "invoice",
            "credit-notes",
            {"reason": "r", "lines": [line("1.00", rate="10.00")]},
            422,
            "no line at VAT",
        ),
        ("invoice", "credit-notes", {"reason": "r", "lines": [line("-1.00")]}, 422, "unit_price"),
        (
            "invoice",
            "credit-notes",
            {"reason": "r", "lines": [{**line("1"), "unit_price": 1.5}]},
            422,
            "unit_price",
        ),
    ],
)
async def test_refusals_change_nothing(
    invoicing: Any, target: Any, action: Any, body: Any, code: Any, words: Any
) -> None:
    number = (await issue_invoice(invoicing))["number"]
    key = {
        "invoice": number,
        "unknown": f"F{YEAR}-999999",
        "preview": await _preview_id(invoicing) if target == "preview" else "",
        "credit_note": await _credit_note_number(invoicing, number) if target == "credit_note" else "",
        "proforma": await _proforma_number(invoicing, number) if target == "proforma" else "",
    }[target]
    before = await state(invoicing, number)
    answer = await invoicing.http.post(
        f"/api/v1/invoices/{key}/{action}", json=body, headers=invoicing.token("billing")
    )
    assert answer.status_code == code, answer.text
    assert words in answer.text
    assert await state(invoicing, number) == before


async def test_cancelling_twice_is_refused(invoicing: Any) -> None:
    number = (await issue_invoice(invoicing))["number"]
    h = invoicing.token("billing")
    assert (
        await invoicing.http.post(f"/api/v1/invoices/{number}/cancel", json={"reason": "a"}, headers=h)
    ).status_code == 201
    before = await state(invoicing, number)
    again = await invoicing.http.post(f"/api/v1/invoices/{number}/cancel", json={"reason": "b"}, headers=h)
    assert again.status_code == 422 and "already cancelled" in again.text
    partial = await invoicing.http.post(
        f"/api/v1/invoices/{number}/credit-notes", json={"reason": "c", "lines": [line("1.00")]}, headers=h
    )
    assert partial.status_code == 422 and "already cancelled" in partial.text
    assert await state(invoicing, number) == before


async def test_only_billing_staff_may_credit(invoicing: Any) -> None:
    number = (await issue_invoice(invoicing))["number"]
    before = await state(invoicing, number)
    url = f"/api/v1/invoices/{number}/cancel"
    assert (await invoicing.http.post(url, json={"reason": "x"})).status_code == 401
    for role in ("readonly", "accounting", "client:someone"):
        answer = await invoicing.http.post(url, json={"reason": "x"}, headers=invoicing.token(role))
        assert answer.status_code == 403
    assert await state(invoicing, number) == before


# -- the invoice's status travels on the credit note's event (export shows it, never recomputes) -----
async def test_credit_note_events_carry_the_invoice_status_and_credited_total(invoicing: Any) -> None:
    invoice = await issue_invoice(invoicing)  # gross 58.55
    number = invoice["number"]
    h = invoicing.token("billing")
    for amount in ("10.00", "5.00"):  # 12.00 then 6.00 gross at 20 %
        answer = await invoicing.http.post(
            f"/api/v1/invoices/{number}/credit-notes",
            json={"reason": "goodwill", "lines": [line(amount)]},
            headers=h,
        )
        assert answer.status_code == 201, answer.text
    cancelled = await invoicing.http.post(
        f"/api/v1/invoices/{number}/cancel", json={"reason": "void"}, headers=h
    )
    assert cancelled.status_code == 201, cancelled.text

    events = [e["data"] for e in await invoicing.outbox(CREDITNOTE_ISSUED)]
    assert [(e["credited_invoice_status"], e["credited_invoice_total"]) for e in events] == [
        ("partially_credited", "12.00"),
        ("partially_credited", "18.00"),
        ("cancelled", "58.55"),
    ]
    assert cancelled.json()["invoice"]["status"] == "cancelled"


async def test_a_requested_cancellation_says_cancelled_on_its_event(invoicing: Any) -> None:
    invoice = await issue_invoice(invoicing)
    request = CreditNoteRequested(invoice_number=invoice["number"], reason="duplicate", request_id="crm-7")
    await handle(invoicing, inbound(request))
    (event,) = [e["data"] for e in await invoicing.outbox(CREDITNOTE_ISSUED)]
    assert (event["credited_invoice_status"], event["credited_invoice_total"]) == ("cancelled", "58.55")


# -- method A through the creditnote.requested handler ------------------------------------------
def inbound(request: CreditNoteRequested, source: str = "/crm") -> Inbound[CreditNoteRequested]:
    envelope = Envelope.new(source=source, type=CREDITNOTE_REQUESTED, subject=request.invoice_number)
    return Inbound(envelope, request, request.invoice_number, CREDITNOTE_REQUESTED, 0, 0)


async def handle(inv: Any, event: Inbound[CreditNoteRequested]) -> None:
    runtime = inv.app.state.runtime
    handler = credit_note_requested(runtime, inv.settings)
    async with runtime.sessions() as session, session.begin():
        await handler(event, session)


async def test_requested_cancellation_is_idempotent_on_request_id(invoicing: Any) -> None:
    invoice = await issue_invoice(invoicing)
    number = invoice["number"]
    request = CreditNoteRequested(
        invoice_number=number, reason="duplicate invoice", request_id="crm-42", requested_by="crm-bot"
    )
    await handle(invoicing, inbound(request))
    events = await invoicing.outbox(CREDITNOTE_ISSUED)
    assert len(events) == 1
    data = events[0]["data"]
    assert data["number"] == f"AV{YEAR}-000001"
    assert data["references"] == [{"number": number, "issue_date": invoice["issue_date"]}]
    assert data["reason"] == "duplicate invoice" and data["requested_by"] == "crm-bot"
    assert data["totals"]["gross_total"] == "58.55"
    detail = (
        await invoicing.http.get(f"/api/v1/invoices/{number}", headers=invoicing.token("readonly"))
    ).json()
    assert detail["status"] == "cancelled" and detail["credit_notes"] == [data["number"]]

    # The same request again, in a new event (new ce_id): nothing more happens.
    before = await state(invoicing, number)
    await handle(invoicing, inbound(request))
    assert await state(invoicing, number) == before
    # A different request for the same invoice is a second cancellation: refused for good.
    with pytest.raises(PermanentError, match="already cancelled"):
        await handle(invoicing, inbound(request.model_copy(update={"request_id": "crm-43"})))
    assert await state(invoicing, number) == before


async def test_requested_partial_credit_names_the_publisher_when_no_requester(invoicing: Any) -> None:
    number = (await issue_invoice(invoicing))["number"]
    request = CreditNoteRequested(
        invoice_number=number,
        reason="roaming refund",
        request_id=str(uuid.uuid4()),
        lines=[CreditLine(label="Roaming", quantity=D("1"), unit_price=D("10.00"), vat_rate=D("20.00"))],
    )
    await handle(invoicing, inbound(request, source="/erp"))
    [event] = await invoicing.outbox(CREDITNOTE_ISSUED)
    assert event["data"]["totals"]["gross_total"] == "12.00" and event["data"]["requested_by"] == "/erp"
    detail = (
        await invoicing.http.get(f"/api/v1/invoices/{number}", headers=invoicing.token("readonly"))
    ).json()
    assert detail["status"] == "partially_credited" and detail["credited_total"] == "12.00"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"invoice_number": "F2026-424242"}, "no document"),
        ({"reason": "   "}, "reason"),
        (
            {"lines": [CreditLine(label="x", quantity=D(1), unit_price=D("100.00"), vat_rate=D("20.00"))]},
            "exceeds",
        ),
        ({"lines": []}, "at least one line"),
    ],
)
async def test_requested_refusals_are_permanent_and_change_nothing(
    invoicing: Any, change: Any, words: Any
) -> None:
    number = (await issue_invoice(invoicing))["number"]
    request = CreditNoteRequested(invoice_number=number, reason="r", request_id="req-1").model_copy(
        update=change
    )
    before = await state(invoicing, number)
    with pytest.raises(PermanentError, match=words):
        await handle(invoicing, inbound(request))
    assert await state(invoicing, number) == before


async def test_through_the_consumer_a_refusal_is_dead_lettered_with_its_reason(invoicing: Any) -> None:
    number = (await issue_invoice(invoicing))["number"]
    runtime = invoicing.app.state.runtime
    handler = credit_note_requested(runtime, invoicing.settings)
    recorder = KafkaRecorder()
    runtime.producer = recorder
    try:

        def record(request: CreditNoteRequested, offset: int) -> SimpleNamespace:
            envelope = Envelope.new(source="/crm", type=CREDITNOTE_REQUESTED, subject=number)
            return SimpleNamespace(
                topic=CREDITNOTE_REQUESTED,
                partition=0,
                offset=offset,
                key=number.encode(),
                headers=envelope.headers(),
                value=request.model_dump_json().encode(),
            )

        good = CreditNoteRequested(invoice_number=number, reason="void", request_id="a")
        await runtime.consumer.handle_record(record(good, 1), CreditNoteRequested, handler, "t.cn")
        assert len(await invoicing.outbox(CREDITNOTE_ISSUED)) == 1 and recorder.sent == []
        before = await state(invoicing, number)

        second = good.model_copy(update={"request_id": "b"})
        await runtime.consumer.handle_record(record(second, 2), CreditNoteRequested, handler, "t.cn")
        [dead] = recorder.sent
        headers = dict(dead.headers)
        assert dead.topic == f"{CREDITNOTE_REQUESTED}.dlq"
        assert b"PermanentError" in headers["dlq_error"] and b"already cancelled" in headers["dlq_error"]
        assert await state(invoicing, number) == before
        async with runtime.sessions() as session:
            dl = runtime.tables.dead_letters
            errors = (await session.scalars(select(dl.c.error))).all()
        assert len(errors) == 1 and "already cancelled" in errors[0]
    finally:
        runtime.producer = None


# -- property: whatever is attempted, the credited total never passes the invoice's --------------
Operation = tuple[str, tuple[tuple[int, str], ...]]  # ("cancel", ()) or ("partial", ((cents, rate), ...))
operations = st.lists(
    st.one_of(
        st.just(("cancel", ())),
        st.tuples(
            st.just("partial"),
            st.lists(
                st.tuples(st.integers(1, 4500), st.sampled_from(["20.00", "5.50"])), min_size=1, max_size=2
            ).map(tuple),
        ),
    ),
    min_size=1,
    max_size=6,
)


def expected_status(credited: D, total: D, cancelled: bool) -> str:
    if cancelled:
        return "cancelled"
    if credited == 0:
        return "issued"
    return "credited" if credited >= total else "partially_credited"


@settings(max_examples=12, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
async def test_credited_total_never_exceeds_the_invoice_total(invoicing: Any, ops: list[Operation]) -> None:
    runtime = invoicing.app.state.runtime
    async with runtime.sessions() as session, session.begin():
        client = ClientRow(
            code=f"P{uuid.uuid4().hex[:10]}",
            name="Prop",
            address_line1="1 rue A",
            postcode="75001",
            city="Paris",
            country="FR",
            language="fr",
            currency="EUR",
            payment_terms_days=30,
        )
        session.add(client)
        await session.flush()
        async with InvoicingUnitOfWork.joining(session, runtime.event_sink, []) as uow:
            _row, invoice = await issue_document(
                uow,
                invoicing.settings,
                kind=DocumentType.INVOICE,
                client=client,
                period="2026-03",
                issue_date=dt.date(2026, 4, 1),
                lines=[
                    DraftLine("Line", D(2), D("20.00"), D("20.00"), accounting_account="706100"),
                    DraftLine("Guide", D(1), D("10.00"), D("5.50"), accounting_account="707000"),
                ],
            )
            await uow.commit()
    number = invoice.number
    assert number is not None
    total = invoice.totals.gross_total
    cancelled = False
    for kind, lines in ops:
        uow = InvoicingUnitOfWork(runtime.sessions, runtime.event_sink)
        try:
            if kind == "cancel":
                await credit_notes.cancel_invoice(
                    uow, invoicing.settings, CancelInvoice(number=number, reason="void", requested_by="prop")
                )
            else:
                await credit_notes.credit_partially(
                    uow,
                    invoicing.settings,
                    CreditPartially(
                        number=number,
                        reason="part",
                        requested_by="prop",
                        lines=tuple(
                            commands.CreditLine(
                                label="x", quantity=D(1), unit_price=D(c) / 100, vat_rate=D(r)
                            )
                            for c, r in lines
                        ),
                    ),
                )
            cancelled = cancelled or kind == "cancel"
        except CreditRefused:
            pass
        async with runtime.sessions() as session:
            row = await session.scalar(select(DocumentRow).where(DocumentRow.number == number))
            assert row is not None
            notes = (
                await session.scalars(select(DocumentRow.body).where(DocumentRow.original_number == number))
            ).all()
        documents = [Document.model_validate_json(body) for body in notes]
        credited = sum((d.totals.gross_total for d in documents), D("0.00"))
        assert row.credited_total == credited <= total
        for subtotal in invoice.tax_breakdown:  # and rate by rate, base and tax
            same = [t for d in documents for t in d.tax_breakdown if t.vat_rate == subtotal.vat_rate]
            assert sum((t.taxable_amount for t in same), D(0)) <= subtotal.taxable_amount
            assert sum((t.tax_amount for t in same), D(0)) <= subtotal.tax_amount
        assert row.status == expected_status(credited, total, cancelled)
        if cancelled:
            assert credited == total
