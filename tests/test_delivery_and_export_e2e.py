"""Issues #6 and #7 through the real broker and a real SMTP server.

- An SMTP outage: the server is down while invoices are issued and comes back after a minute;
  every e-mail then arrives exactly once.
- An accounting export requested through the API ends with an e-mail carrying the file.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from aiosmtpd.controller import Controller
from e2e_support import STACK_SMTP_PORT, RunningStack, eventually, issue_invoice


async def test_smtp_outage_then_every_mail_exactly_once(stack: RunningStack) -> None:
    stack.smtp.stop()  # the mail server goes down
    try:
        numbers = [(await issue_invoice(stack, period=f"2026-0{m}"))[0] for m in (4, 5, 6)]
        h = stack.token("admin")
        async with stack.http("notification") as notif:

            async def attempted() -> bool:  # the service has tried and is waiting to retry
                logs = [
                    (await notif.get(f"/api/v1/deliveries?document={n}", headers=h)).json() for n in numbers
                ]
                return all(log["deliveries"] for log in logs)

            await eventually(attempted, 90)
        await asyncio.sleep(60)
        assert all(not stack.mail.for_number(n) for n in numbers)
    finally:
        stack.smtp = Controller(stack.mail, hostname="127.0.0.1", port=STACK_SMTP_PORT)
        stack.smtp.start()  # back after a minute

    async def all_delivered() -> bool:
        return all(stack.mail.for_number(n) for n in numbers)

    await eventually(all_delivered, 120)
    await asyncio.sleep(5)  # room for a duplicate to show up
    for number in numbers:
        assert len(stack.mail.for_number(number)) == 1, number
    async with stack.http("invoicing") as inv:
        for number in numbers:

            async def delivered(n: str = number) -> bool:
                detail = (await inv.get(f"/api/v1/invoices/{n}", headers=h)).json()
                return any(d["status"] == "delivered" for d in detail["deliveries"])

            await eventually(delivered, 60)


async def test_accounting_export_is_mailed_to_the_requester(stack: RunningStack) -> None:
    number, _ = await issue_invoice(stack, period="2026-03")
    today = dt.date.today().isoformat()
    h = stack.token("accounting", sub="carole")
    async with stack.http("export") as exp:

        async def known() -> bool:  # export's read model has the invoice and its PDF
            listing = await exp.get(f"/api/v1/exports/invoice-list?month={today[:7]}&format=csv", headers=h)
            return number in listing.text

        await eventually(known, 90)
        job = await exp.post(
            "/api/v1/exports",
            headers=h,
            json={"kind": "accounting", "format": "fec", "from": today, "to": today},
        )
        assert job.status_code == 202, job.text
        export_id = job.json()["id"]

        async def completed() -> dict | None:
            state = (await exp.get(f"/api/v1/exports/{export_id}", headers=h)).json()
            return state if state["status"] in ("completed", "failed") else None

        state = await eventually(completed, 90)
        assert state["status"] == "completed", state
        content = (await exp.get(f"/api/v1/exports/{export_id}/file", headers=h)).content

    async def mailed() -> list:
        return [
            m
            for m in stack.mail.messages
            if "carole@ledgerline.test" in str(m["To"])
            and any(p.get_filename() and p.get_filename().endswith(".txt") for p in m.iter_attachments())
        ]

    message = (await eventually(mailed, 90))[-1]
    attachment = next(p for p in message.iter_attachments() if p.get_filename().endswith(".txt"))
    raw = attachment.get_payload(decode=True)
    assert raw == content
    assert number.encode() in raw and raw.startswith(b"JournalCode")
