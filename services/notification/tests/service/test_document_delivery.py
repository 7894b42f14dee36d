"""Document e-mails end to end inside the service: event in, real SMTP (STARTTLS + AUTH) out."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from ledgerline_notification.domain.delivery import DeliveryStatus
from ledgerline_shared.contracts.events import SendRequested
from ledgerline_shared.topics import (
    DOCUMENT_RENDERED,
    INVOICE_DELIVERED,
    INVOICE_DELIVERY_FAILED,
    INVOICE_SEND_REQUESTED,
)

from .conftest import Notification, RunNotification, StartServer, rendered_event, wait_until


async def all_finished(service: Notification, count: int) -> bool:
    rows = await service.deliveries()
    return len(rows) == count and all(r.status not in ("pending", "sending") for r in rows)


def send_request(
    number: str, emails: list[str], language: str = "fr", request_id: str | None = None
) -> SendRequested:
    return SendRequested(
        request_id=request_id or str(uuid.uuid4()),
        requested_by="alice@ledgerline.test",
        number=number,
        recipients=[{"name": f"Contact {i}", "email": e} for i, e in enumerate(emails)],  # type: ignore[misc]
        language=language,
    )


@pytest.mark.parametrize(
    ("language", "subject", "body_word"),
    [
        ("fr", "Facture F-2026-000001 – janvier 2026 : 1 234,50 € à régler avant le 02/03/2026", "Bonjour"),
        ("en", "Invoice F-2026-000001 – January 2026: EUR 1,234.50 due by 2 Mar 2026", "Hello"),
    ],
)
async def test_first_rendering_mails_every_recipient_once_with_the_stored_pdf(
    run_notification: RunNotification, smtp_server: StartServer, language: str, subject: str, body_word: str
) -> None:
    server = smtp_server("starttls", auth=True)
    async with run_notification(server.port) as service:
        path, pdf = service.store_pdf("F-2026-000001", language=language)
        await service.feed(
            DOCUMENT_RENDERED,
            rendered_event("F-2026-000001", path, pdf, language=language),
            key="F-2026-000001",
        )
        await wait_until(lambda: all_finished(service, 1), what="the delivery")
        [delivery] = await service.deliveries()
        events = await service.outbox(INVOICE_DELIVERED)
        log = (
            await service.http.get(
                "/api/v1/deliveries", params={"document": "F-2026-000001"}, headers=service.token("readonly")
            )
        ).json()

    assert delivery.status == DeliveryStatus.SENT
    [received] = server.handler.received
    assert received.tls and received.authenticated
    assert sorted(received.rcpt_tos) == ["ap@client.example", "zoe@client.example"]
    message = received.message()
    assert "zoe@client.example" in str(message["To"]) and "ap@client.example" in str(message["To"])
    assert "Zoé Müller" in str(message["To"])
    assert message["Subject"].replace("\u00a0", " ").replace("\u202f", " ") == subject
    assert message["Content-Language"] == language
    assert message["Message-ID"] == f"<{delivery.id}@ledgerline>"
    body = message.get_body(("plain",))
    assert body is not None and body_word in body.get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "F-2026-000001.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == pdf  # byte-identical to the stored file

    [event] = events
    assert event["key"] == "F-2026-000001"
    assert event["data"]["request_id"] == "auto"
    assert sorted(event["data"]["to"]) == ["ap@client.example", "zoe@client.example"]
    assert event["data"]["smtp_response"] == "250 2.0.0 OK queued as Q0001"
    assert event["data"]["error"] is None
    [entry] = log["deliveries"]
    assert entry["status"] == "sent" and entry["trigger"] == "auto" and entry["attempts"] == 1
    assert entry["smtp_response"] == "250 2.0.0 OK queued as Q0001"
    assert entry["message_id"] == message["Message-ID"]


async def test_credit_notes_are_sent_automatically_but_not_proformas_previews_or_regenerations(
    run_notification: RunNotification, smtp_server: StartServer
) -> None:
    server = smtp_server("starttls", auth=True)
    async with run_notification(server.port) as service:
        for number, kind, version in [("PF-2026-000001", "proforma", 1), ("F-2026-000002", "invoice", 2)]:
            path, pdf = service.store_pdf(number, version, type=kind)
            event = rendered_event(number, path, pdf, type=kind, version=version)
            await service.feed(DOCUMENT_RENDERED, event)
        path, pdf = service.store_pdf("preview-1")
        await service.feed(DOCUMENT_RENDERED, rendered_event(None, path, pdf, type="preview"))
        path, pdf = service.store_pdf("AV-2026-000001", type="credit_note")
        await service.feed(DOCUMENT_RENDERED, rendered_event("AV-2026-000001", path, pdf, type="credit_note"))
        await wait_until(lambda: all_finished(service, 1), what="the credit note")
        await asyncio.sleep(0.5)  # time for anything wrongly queued to go out as well
        deliveries = await service.deliveries()

    assert [d.number for d in deliveries] == ["AV-2026-000001"]
    [received] = server.handler.received
    assert received.message()["Subject"].startswith("Avoir AV-2026-000001 sur la facture F2026-000099")
    [attachment] = list(received.message().iter_attachments())
    assert attachment.get_content() == pdf


async def test_a_send_request_always_sends_to_the_current_recipients_in_their_language(
    run_notification: RunNotification, smtp_server: StartServer
) -> None:
    server = smtp_server("starttls", auth=True)
    async with run_notification(server.port) as service:
        # The JSON is the French proforma; the English request re-words it for its reader.
        path, pdf = service.store_pdf("PF-2026-000002", type="proforma")
        await service.feed(DOCUMENT_RENDERED, rendered_event("PF-2026-000002", path, pdf, type="proforma"))
        first = send_request("PF-2026-000002", ["new.contact@client.example"], language="en")
        ce_id = await service.feed(INVOICE_SEND_REQUESTED, first, key="PF-2026-000002")
        await service.feed(INVOICE_SEND_REQUESTED, first, key="PF-2026-000002", ce_id=ce_id)  # redelivered
        await service.feed(INVOICE_SEND_REQUESTED, first, key="PF-2026-000002")  # same request, new ce_id
        await wait_until(lambda: all_finished(service, 1), what="the first request")
        second = send_request("PF-2026-000002", ["new.contact@client.example", "boss@client.example"])
        await service.feed(INVOICE_SEND_REQUESTED, second, key="PF-2026-000002")
        await wait_until(lambda: all_finished(service, 2), what="the second request")
        events = await service.outbox(INVOICE_DELIVERED)
        stats = service.app.state.runtime.consumer.stats.topics[INVOICE_SEND_REQUESTED]

    assert len(server.handler.received) == 2  # one per request, whatever Kafka redelivered
    one, two = (r.message() for r in server.handler.received)
    assert one["Subject"].replace("\u00a0", " ") == (
        "Proforma invoice PF-2026-000002: EUR 1,234.50 (not a request for payment)"
    )
    assert server.handler.received[0].rcpt_tos == ["new.contact@client.example"]
    assert two["Subject"].replace("\u00a0", " ").replace("\u202f", " ") == (
        "Facture proforma PF-2026-000002 : 1 234,50 € (pas une demande de paiement)"
    )
    assert sorted(server.handler.received[1].rcpt_tos) == [
        "boss@client.example",
        "new.contact@client.example",
    ]
    assert one["Message-ID"] != two["Message-ID"]
    for received in server.handler.received:
        [attachment] = list(received.message().iter_attachments())
        assert attachment.get_content() == pdf
    assert [e["data"]["request_id"] for e in events] == [first.request_id, second.request_id]
    assert stats.duplicates == 1  # the same ce_id was skipped by the idempotent consumer


async def test_a_redelivered_rendering_event_sends_once(
    run_notification: RunNotification, smtp_server: StartServer
) -> None:
    server = smtp_server("starttls", auth=True)
    async with run_notification(server.port) as service:
        path, pdf = service.store_pdf("F-2026-000003")
        event = rendered_event("F-2026-000003", path, pdf)
        ce_id = await service.feed(DOCUMENT_RENDERED, event, key="F-2026-000003")
        await service.feed(DOCUMENT_RENDERED, event, key="F-2026-000003", ce_id=ce_id)
        await wait_until(lambda: all_finished(service, 1))
        await service.feed(DOCUMENT_RENDERED, event, key="F-2026-000003", ce_id=ce_id)  # after sending too
        await service.feed(DOCUMENT_RENDERED, event, key="F-2026-000003")  # re-published under a new id
        await asyncio.sleep(0.5)
        deliveries = await service.deliveries()

    assert len(deliveries) == 1
    assert len(server.handler.received) == 1


async def test_a_send_request_before_the_rendering_waits_for_the_pdf(
    run_notification: RunNotification, smtp_server: StartServer
) -> None:
    server = smtp_server("starttls", auth=True)
    async with run_notification(server.port) as service:
        await service.feed(INVOICE_SEND_REQUESTED, send_request("PF-2026-000009", ["x@client.example"]))

        async def waiting_for_the_pdf() -> bool:
            # Polled: between two attempts the delivery is `pending`, during one it is briefly
            # `sending` (a fixed sleep read that moment once under load). It must never be sent.
            rows = await service.deliveries()
            assert [r.status for r in rows] in ([], ["pending"], ["sending"]), rows
            waiting = bool(rows) and rows[0].status == "pending"
            return waiting and "has not been rendered yet" in (rows[0].error or "")

        await wait_until(waiting_for_the_pdf, what="the request waiting for its PDF")
        await asyncio.sleep(0.5)  # a few more attempts: still waiting, nothing sent
        [waiting] = await service.deliveries()
        assert waiting.status in ("pending", "sending") and not server.handler.received
        path, pdf = service.store_pdf("PF-2026-000009", type="proforma")
        await service.feed(DOCUMENT_RENDERED, rendered_event("PF-2026-000009", path, pdf, type="proforma"))
        await wait_until(lambda: all_finished(service, 1), what="the request once rendered")
        [delivery] = await service.deliveries()

    assert delivery.status == "sent"
    [received] = server.handler.received
    [attachment] = list(received.message().iter_attachments())
    assert attachment.get_content() == pdf


async def test_no_invoice_recipient_ends_as_delivery_failed_with_that_reason(
    run_notification: RunNotification, smtp_server: StartServer
) -> None:
    server = smtp_server("starttls", auth=True)
    async with run_notification(server.port) as service:
        path, pdf = service.store_pdf("F-2026-000004")
        await service.feed(DOCUMENT_RENDERED, rendered_event("F-2026-000004", path, pdf, recipients=[]))
        await wait_until(lambda: all_finished(service, 1))
        [delivery] = await service.deliveries()
        failed = await service.outbox(INVOICE_DELIVERY_FAILED)
        delivered = await service.outbox(INVOICE_DELIVERED)

    assert delivery.status == "failed" and delivery.error == "no invoice recipient"
    [event] = failed
    assert event["key"] == "F-2026-000004"
    assert event["data"]["error"] == "no invoice recipient" and event["data"]["to"] == []
    assert event["data"]["request_id"] == "auto"
    assert delivered == [] and server.handler.received == []


async def test_a_permanent_refusal_is_not_retried_and_reports_the_server_answer(
    run_notification: RunNotification, smtp_server: StartServer
) -> None:
    server = smtp_server("starttls", auth=True)
    server.handler.rcpt_reply = lambda address: "550 5.1.1 mailbox unavailable"
    async with run_notification(server.port) as service:
        path, pdf = service.store_pdf("F-2026-000005")
        await service.feed(DOCUMENT_RENDERED, rendered_event("F-2026-000005", path, pdf))
        await wait_until(lambda: all_finished(service, 1))
        [delivery] = await service.deliveries()
        [event] = await service.outbox(INVOICE_DELIVERY_FAILED)

    assert delivery.status == "failed" and delivery.attempts == 1
    assert "550" in (delivery.error or "") and "mailbox unavailable" in (delivery.error or "")
    assert event["data"]["error"] == delivery.error


async def test_temporary_failures_are_retried_until_the_configured_time_is_spent(
    run_notification: RunNotification, smtp_server: StartServer
) -> None:
    server = smtp_server("starttls", auth=True)
    server.handler.rcpt_reply = lambda address: "451 4.3.0 try again later"
    async with run_notification(server.port, smtp_retry_for_s=1.5) as service:
        path, pdf = service.store_pdf("F-2026-000006")
        await service.feed(DOCUMENT_RENDERED, rendered_event("F-2026-000006", path, pdf))
        await wait_until(lambda: all_finished(service, 1), timeout=10)
        [delivery] = await service.deliveries()
        [event] = await service.outbox(INVOICE_DELIVERY_FAILED)

    assert delivery.status == "failed" and delivery.attempts >= 2
    assert delivery.error is not None
    assert delivery.error.startswith(f"gave up after {delivery.attempts} attempts")
    assert "451" in delivery.error
    assert event["data"]["error"] == delivery.error
    assert server.handler.received == []


async def test_a_recipient_refused_while_others_accept_is_sent_and_the_refusal_logged(
    run_notification: RunNotification, smtp_server: StartServer
) -> None:
    server = smtp_server("starttls", auth=True)
    server.handler.rcpt_reply = lambda address: (
        "550 5.1.1 unknown user" if address.startswith("ap@") else None
    )
    async with run_notification(server.port) as service:
        path, pdf = service.store_pdf("F-2026-000007")
        await service.feed(DOCUMENT_RENDERED, rendered_event("F-2026-000007", path, pdf))
        await wait_until(lambda: all_finished(service, 1))
        [delivery] = await service.deliveries()
        [event] = await service.outbox(INVOICE_DELIVERED)

    assert delivery.status == "sent"
    refused = "(refused: ap@client.example: 550 5.1.1 unknown user)"
    assert delivery.smtp_response == f"250 2.0.0 OK queued as Q0001 {refused}"
    assert event["data"]["to"] == ["zoe@client.example"]
    assert [r.rcpt_tos for r in server.handler.received] == [["zoe@client.example"]]


async def test_the_worker_fills_the_email_from_the_json_rendered_with_the_pdf(
    run_notification: RunNotification, smtp_server: StartServer
) -> None:
    server = smtp_server("starttls", auth=True)
    async with run_notification(
        server.port, mail_reply_to="Compta Ledgerline <compta@ledgerline.test>"
    ) as service:
        path, pdf = service.store_pdf("F-2026-000010", language="en")
        await service.feed(DOCUMENT_RENDERED, rendered_event("F-2026-000010", path, pdf, language="en"))
        # A version whose JSON is missing still goes out, naming the document only.
        thin_path, thin_pdf = service.store_pdf("F-2026-000011", with_json=False)
        await service.feed(DOCUMENT_RENDERED, rendered_event("F-2026-000011", thin_path, thin_pdf))
        await wait_until(lambda: all_finished(service, 2), what="both deliveries")

    messages = {str(r.message()["Subject"]).split()[1]: r.message() for r in server.handler.received}
    full, thin = messages["F-2026-000010"], messages["F-2026-000011"]
    assert [a.addr_spec for a in full["Reply-To"].addresses] == ["compta@ledgerline.test"]
    assert full["List-Unsubscribe"] is None
    plain_part, html_part = full.get_body(("plain",)), full.get_body(("html",))
    assert plain_part is not None and html_part is not None
    plain = plain_part.get_content().replace("\u00a0", " ")
    html = html_part.get_content().replace("&nbsp;", " ").replace("\u00a0", " ")
    for expected in (
        *("Amount due", "EUR 1,234.50", "Due date", "2 Mar 2026", "Period", "January 2026"),
        *("FR76 3000 6000 0112 3456 7890 189", "Reference to quote", "compta@ledgerline.test"),
    ):
        assert expected in plain and expected in html, expected
    assert thin["Subject"] == "Facture F-2026-000011 du 31/01/2026"
    [attachment] = list(thin.iter_attachments())
    assert attachment.get_content() == thin_pdf
