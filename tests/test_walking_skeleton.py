"""The walking skeleton, every hop real: an API call issues an invoice through the outbox, Kafka carries
`invoice.issued` to rendering (WeasyPrint), `document.rendered` to notification (SMTP, read back
from a real server) and to export (SFTP, read back over a real connection)."""

from __future__ import annotations

import asyncio
import datetime as dt
import io

import asyncssh
from e2e_support import STACK_SFTP_PORT, RunningStack, eventually, issue_invoice
from pypdf import PdfReader


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
    async with (
        asyncssh.connect(
            "127.0.0.1",
            port=STACK_SFTP_PORT,
            username=login["username"],
            password=login["password"],
            known_hosts=None,
        ) as conn,
        conn.start_sftp_client() as sftp,
    ):

        async def listed() -> list[str]:
            try:
                return [
                    n for n in await sftp.listdir(f"/production/{month}/invoices-pdf") if n == f"{number}.pdf"
                ]
            except asyncssh.SFTPNoSuchFile:
                return []

        await eventually(listed, 60)
        async with sftp.open(f"/production/{month}/invoices-pdf/{number}.pdf", "rb") as remote:
            assert await remote.read() == pdf
