"""Issues #4 and #5 through the real broker: a cancellation asked on `creditnote.requested` ends in a
numbered, linked, rendered and e-mailed credit note; a refused one in the dead-letter topic with its
reason; a regeneration gives version 2 and the counter reads 2 in invoicing's detail."""

from __future__ import annotations

import csv
import io
import json
import uuid

from aiokafka import AIOKafkaProducer
from e2e_support import RunningStack, eventually, issue_invoice, kafka_auth, read_topic
from pypdf import PdfReader

from ledgerline_shared.cloudevents import Envelope
from ledgerline_shared.topics import CREDITNOTE_REQUESTED, DOCUMENT_RENDERED


async def publish(bootstrap: str, key: str, body: dict) -> Envelope:
    envelope = Envelope.new(source="/tests/crm", type=CREDITNOTE_REQUESTED, subject=key)
    producer = AIOKafkaProducer(**kafka_auth("crm"), bootstrap_servers=bootstrap)  # the CRM's principal
    await producer.start()
    try:
        await producer.send_and_wait(
            CREDITNOTE_REQUESTED, json.dumps(body).encode(), key=key.encode(), headers=envelope.headers()
        )
    finally:
        await producer.stop()
    return envelope


async def test_cancellation_through_the_topic_ends_in_a_mailed_credit_note(
    stack: RunningStack, kafka_bootstrap: str
) -> None:
    number, _ = await issue_invoice(stack, period="2026-08")
    h = stack.token("admin")
    request_id = str(uuid.uuid4())
    body = {
        "invoice_number": number,
        "reason": "Contract terminated before activation",
        "request_id": request_id,
        "requested_by": "crm",
    }
    await publish(kafka_bootstrap, number, body)
    await publish(kafka_bootstrap, number, body)  # the CRM retries: same request_id, one credit note

    async with stack.http("invoicing") as inv:

        async def cancelled() -> dict | None:
            d = (await inv.get(f"/api/v1/invoices/{number}", headers=h)).json()
            return d if d["status"] == "cancelled" else None

        original = await eventually(cancelled, 60)
        assert len(original["credit_notes"]) == 1
        credit_number = original["credit_notes"][0]
        assert credit_number.startswith("AV")
        credit = (await inv.get(f"/api/v1/invoices/{credit_number}", headers=h)).json()
        assert credit["original_invoice"] == number and credit["gross_total"] == original["gross_total"]
        assert credit["reason"] == "Contract terminated before activation"

    async def mailed() -> list:
        return stack.mail.for_number(credit_number)

    message = (await eventually(mailed, 90))[0]
    pdf = next(
        p for p in message.iter_attachments() if p.get_filename() == f"{credit_number}.pdf"
    ).get_content()
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert credit_number in text and number in text  # the credit note cites the original

    # Cancelling again through the topic is refused: a dead letter with the reason, nothing changed.
    # The retried request was absorbed, not refused: nothing in the dead-letter topic for it.
    assert await read_topic(kafka_bootstrap, CREDITNOTE_REQUESTED + ".dlq", number, wait=False) == []
    await publish(kafka_bootstrap, number, {**body, "request_id": str(uuid.uuid4())})
    dead = await read_topic(kafka_bootstrap, CREDITNOTE_REQUESTED + ".dlq", number, timeout=60)
    assert len(dead) == 1
    assert "cancel" in dead[-1]["headers"]["dlq_error"].lower()
    async with stack.http("invoicing") as inv:
        again = (await inv.get(f"/api/v1/invoices/{number}", headers=h)).json()
        assert again["credit_notes"] == [credit_number]

    # Export shows the status invoicing decided (carried on creditnote.issued), "cancelled" included.
    month = original["issue_date"][:7]
    async with stack.http("export") as export:

        async def listed_cancelled() -> dict | None:
            answer = await export.get("/api/v1/exports/invoice-list", params={"month": month}, headers=h)
            text = answer.content.decode("utf-8-sig")  # a BOM, for Excel
            rows = {row["number"]: row for row in csv.DictReader(io.StringIO(text))}
            row = rows.get(number)
            return row if row is not None and row["status"] == "cancelled" else None

        row = await eventually(listed_cancelled, 60)
        assert row["gross"] == original["gross_total"]


async def test_regeneration_counts_two_everywhere(stack: RunningStack, kafka_bootstrap: str) -> None:
    number, client_id = await issue_invoice(stack, period="2026-07")
    h = stack.token("billing")
    async with stack.http("invoicing") as inv:

        async def rendered_once() -> bool:
            return (await inv.get(f"/api/v1/invoices/{number}", headers=h)).json()["generation_count"] == 1

        await eventually(rendered_once, 90)
        moved = {
            "address": {"line1": "1 boulevard Neuf", "postcode": "31000", "city": "Toulouse", "country": "FR"}
        }
        assert (await inv.patch(f"/api/v1/clients/{client_id}", json=moved, headers=h)).status_code == 200
        assert (await inv.post(f"/api/v1/invoices/{number}/regenerate", headers=h)).status_code == 202

        async def rendered_twice() -> bool:
            return (await inv.get(f"/api/v1/invoices/{number}", headers=h)).json()["generation_count"] == 2

        await eventually(rendered_twice, 90)
    async with stack.http("rendering") as ren:
        v2 = (await ren.get(f"/api/v1/documents/{number}/pdf", headers=h)).content
        v1 = (await ren.get(f"/api/v1/documents/{number}/pdf?version=1", headers=h)).content
    assert "1 boulevard Neuf" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(v2)).pages)
    assert "1 boulevard Neuf" not in "".join(p.extract_text() for p in PdfReader(io.BytesIO(v1)).pages)
    events = await read_topic(kafka_bootstrap, DOCUMENT_RENDERED, number)
    assert sorted(e["data"]["generation_count"] for e in events)[-1] == 2
    # A regeneration is not a new delivery: still one e-mail for this invoice.
    assert len(stack.mail.for_number(number)) == 1
