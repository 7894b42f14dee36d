"""The export report e-mail through the same machinery, and who may read the delivery log."""

from __future__ import annotations

import asyncio
import os

from ledgerline_shared.contracts.events import ExportCompleted
from ledgerline_shared.contracts.export_receipt import ExportReceipt, write_receipt
from ledgerline_shared.topics import (
    DOCUMENT_RENDERED,
    EXPORT_COMPLETED,
    INVOICE_DELIVERED,
    INVOICE_DELIVERY_FAILED,
)

from .conftest import CLIENT_ID, Notification, RunNotification, StartServer, rendered_event, wait_until


async def _finished(service: Notification, count: int) -> bool:
    rows = await service.deliveries()
    return len(rows) == count and all(r.status in ("sent", "failed") for r in rows)


async def test_export_completed_mails_the_report_and_the_file_to_the_requester_once(
    run_notification: RunNotification, smtp_server: StartServer
) -> None:
    server = smtp_server("starttls", auth=True)
    async with run_notification(server.port) as service:
        content = b"PK\x03\x04" + os.urandom(30_000)
        service.store.write("exports/e-42/invoices-2026-01.xlsx", content)
        # What the export service leaves beside its file (the mail goes where the receipt says).
        receipt = ExportReceipt("e-42", "carla@ledgerline.test", "exports/e-42/invoices-2026-01.xlsx")
        write_receipt(service.store, receipt)
        event = ExportCompleted(
            export_id="e-42",
            requested_by="carla@ledgerline.test",
            kind="excel",
            format="xlsx",
            path="exports/e-42/invoices-2026-01.xlsx",
            rows=17,
        )
        ce_id = await service.feed(EXPORT_COMPLETED, event, key="e-42")
        await service.feed(EXPORT_COMPLETED, event, key="e-42", ce_id=ce_id)
        await service.feed(EXPORT_COMPLETED, event, key="e-42")  # re-published under a new id
        await wait_until(lambda: _finished(service, 1))
        await asyncio.sleep(0.5)
        [delivery] = await service.deliveries()
        events = await service.outbox()

    assert delivery.kind == "export" and delivery.status == "sent"
    [received] = server.handler.received
    assert received.rcpt_tos == ["carla@ledgerline.test"] and received.tls and received.authenticated
    message = received.message()
    assert message["Subject"] == "Votre export Excel (XLSX) est prêt"
    assert message["Message-ID"] == f"<{delivery.id}@ledgerline>"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "invoices-2026-01.xlsx"
    assert attachment.get_content() == content
    body = message.get_body(("plain",))
    assert body is not None and "17" in body.get_content()
    # invoicing knows no exports: no invoice.* event for a report
    assert [e for e in events if e["topic"] in (INVOICE_DELIVERED, INVOICE_DELIVERY_FAILED)] == []


async def test_an_export_file_not_in_the_store_fails_the_report_at_once(
    run_notification: RunNotification, smtp_server: StartServer
) -> None:
    # A path outside the export's folder never gets this far: the receipt check refuses it
    # (tests/test_item8_kafka_principals.py).
    path, reason = "exports/e-43/missing.txt", "export file exports/e-43/missing.txt is missing"
    server = smtp_server("starttls", auth=True)
    async with run_notification(server.port) as service:
        write_receipt(service.store, ExportReceipt("e-43", "carla@ledgerline.test", path))
        event = ExportCompleted(
            export_id="e-43",
            requested_by="carla@ledgerline.test",
            kind="accounting",
            format="fec",
            path=path,
            rows=3,
        )
        await service.feed(EXPORT_COMPLETED, event, key="e-43")
        await wait_until(lambda: _finished(service, 1))
        [delivery] = await service.deliveries()
    assert delivery.status == "failed" and delivery.error == reason and delivery.attempts == 1
    assert server.handler.received == []


async def test_the_delivery_log_is_for_staff_and_the_documents_own_client(
    run_notification: RunNotification, smtp_server: StartServer
) -> None:
    server = smtp_server("starttls", auth=True)
    async with run_notification(server.port) as service:
        path, pdf = service.store_pdf("F-2026-000500")
        await service.feed(DOCUMENT_RENDERED, rendered_event("F-2026-000500", path, pdf), key="F-2026-000500")
        await wait_until(lambda: _finished(service, 1))

        async def get(headers: dict[str, str] | None, **params: str) -> tuple[int, object]:
            response = await service.http.get("/api/v1/deliveries", params=params, headers=headers or {})
            return response.status_code, response.json()

        staff = await get(service.token("readonly"), document="F-2026-000500")
        own = await get(service.token(f"client:{CLIENT_ID}", sub="portal"), document="F-2026-000500")
        other = await get(service.token("client:someone-else", sub="portal2"), document="F-2026-000500")
        unknown_portal = await get(service.token(f"client:{CLIENT_ID}", sub="portal"), document="F-9999")
        unknown_staff = await get(service.token("accounting"), document="F-9999")
        anonymous = await get(None, document="F-2026-000500")
        bad_token = await get({"Authorization": "Bearer not-a-jwt"}, document="F-2026-000500")
        no_role = await get(service.token("nothing"), document="F-2026-000500")
        no_document = await get(service.token("readonly"))

    assert staff[0] == 200 and own[0] == 200
    assert staff[1] == own[1]
    assert [d["status"] for d in staff[1]["deliveries"]] == ["sent"]  # type: ignore[index]
    assert other[0] == 404 and unknown_portal[0] == 404
    assert unknown_staff == (200, {"document": "F-9999", "deliveries": []})
    assert anonymous[0] == 401 and bad_token[0] == 401
    assert no_role[0] == 403
    assert no_document[0] == 422


async def test_the_service_runs_without_kafka_and_says_so(
    run_notification: RunNotification, smtp_server: StartServer
) -> None:
    server = smtp_server("starttls", auth=True)
    async with run_notification(server.port) as service:
        ready = await service.http.get("/health/ready")
        dashboard = await service.http.get("/dashboard", headers=service.token("ops"))
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] is None and ready.json()["checks"]["kafka"]
    assert dashboard.status_code == 200 and "Deliveries" in dashboard.text
