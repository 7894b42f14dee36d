"""The walking skeleton, every hop real: an API call issues an invoice through the outbox, Kafka carries
`invoice.issued` to rendering (WeasyPrint), `document.rendered` to notification (SMTP, read back
from a real server) and to export (SFTP, read back over a real connection)."""

from __future__ import annotations

import asyncio
import datetime as dt
import io

import asyncssh
from conftest import STACK_SFTP_PORT, RunningStack, eventually
from pypdf import PdfReader

CLIENT = {
    "name": "Boulangerie Dupain",
    "address": {"line1": "3 place du Marché", "postcode": "69002", "city": "Lyon", "country": "FR"},
    "vat_id": "FR40303265045",
    "siren": "303265045",
    "language": "fr",
}


async def issue_invoice(stack: RunningStack, period: str = "2026-10") -> tuple[str, str]:
    h = stack.token("billing")
    async with stack.http("invoicing") as inv:
        article = {"code": "SKEL-SETUP", "label": "Mise en service", "kind": "one_time", "unit_price": "49.90",
                   "vat_rate": "20.00", "accounting_account": "706100"}
        answer = await inv.post("/api/v1/articles", json=article, headers=h)
        assert answer.status_code in (201, 409), answer.text
        client = (await inv.post("/api/v1/clients", json=CLIENT, headers=h)).json()
        contact = await inv.post(
            f"/api/v1/clients/{client['id']}/contacts",
            json={"name": "Marie Dupain", "email": "marie@dupain.test", "invoice_recipient": True}, headers=h,
        )
        assert contact.status_code == 201
        await inv.post(f"/api/v1/clients/{client['id']}/contacts",
                       json={"name": "Paul Compta", "email": "paul@dupain.test", "invoice_recipient": False}, headers=h)
        item = await inv.post(f"/api/v1/clients/{client['id']}/one-time-items",
                              json={"article_code": "SKEL-SETUP", "quantity": "2"}, headers=h)
        assert item.status_code == 201
        run = (await inv.post("/api/v1/billing-runs",
                              json={"period": period, "mode": "production", "client_ids": [client["id"]]}, headers=h)).json()

        async def completed() -> dict | None:
            state = (await inv.get(f"/api/v1/billing-runs/{run['id']}", headers=h)).json()
            return state if state["status"] in ("completed", "failed") else None

        state = await eventually(completed, 60)
        assert state["status"] == "completed" and len(state["documents"]) == 1, state
        return state["documents"][0], client["id"]


async def test_an_invoice_goes_from_api_to_mailbox_and_sftp(stack: RunningStack) -> None:
    number, _client_id = await issue_invoice(stack)
    h = stack.token("admin")

    # Rendering: a PDF exists, served by its API, and shows the number, the client and the total.
    async with stack.http("rendering") as ren:
        async def rendered() -> bool:
            return (await ren.get(f"/api/v1/documents/{number}", headers=h)).status_code == 200
        await eventually(rendered, 90)
        pdf = (await ren.get(f"/api/v1/documents/{number}/pdf", headers=h)).content
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert number in text and "Boulangerie Dupain" in text and "119,76" in text

    # Notification: one e-mail, to the flagged contact only, with that very PDF attached.
    async def mailed() -> list:
        return stack.mail.for_number(number)
    await eventually(mailed, 90)
    await asyncio.sleep(2)  # a duplicate would have arrived by now
    messages = stack.mail.for_number(number)
    assert len(messages) == 1
    message = messages[0]
    assert "marie@dupain.test" in message["To"] and "paul@dupain.test" not in message["To"]
    attachment = next(p for p in message.iter_attachments() if p.get_filename() == f"{number}.pdf")
    assert attachment.get_content() == pdf

    # Invoicing learnt both: the generation counter and the delivery.
    async with stack.http("invoicing") as inv:
        async def detail_complete() -> dict | None:
            d = (await inv.get(f"/api/v1/invoices/{number}", headers=h)).json()
            return d if d["generation_count"] == 1 and d["deliveries"] else None
        detail = await eventually(detail_complete, 60)
    assert detail["deliveries"][0]["status"] == "delivered"
    assert detail["totals"]["gross_total"] == "119.76"

    # Export: the file is in the SFTP tree under the issue month.
    month = dt.date.today().strftime("%Y-%m")
    async with stack.http("export") as exp:
        login = (await exp.post("/api/v1/me/sftp/password", headers=h)).json()
    async with asyncssh.connect(
        "127.0.0.1", port=STACK_SFTP_PORT, username=login["username"], password=login["password"],
        known_hosts=None,
    ) as conn, conn.start_sftp_client() as sftp:
        async def listed() -> list[str]:
            try:
                return [n for n in await sftp.listdir(f"/production/{month}/invoices-pdf") if n == f"{number}.pdf"]
            except asyncssh.SFTPNoSuchFile:
                return []
        await eventually(listed, 60)
        async with sftp.open(f"/production/{month}/invoices-pdf/{number}.pdf", "rb") as remote:
            assert await remote.read() == pdf
