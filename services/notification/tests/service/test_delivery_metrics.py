"""Delivery metrics move once the outcome committed: attempts by outcome and the SMTP time."""

from __future__ import annotations

from prometheus_client import REGISTRY

from ledgerline_shared.topics import DOCUMENT_RENDERED

from .conftest import Notification, RunNotification, StartServer, rendered_event, wait_until


def attempts(outcome: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "ledgerline_delivery_attempts_total", {"kind": "document", "outcome": outcome}
        )
        or 0.0
    )


def smtp_transactions() -> float:
    return REGISTRY.get_sample_value("ledgerline_smtp_send_seconds_count") or 0.0


async def settled(service: Notification, count: int) -> bool:
    rows = await service.deliveries()
    return len(rows) == count and all(r.status not in ("pending", "sending") for r in rows)


async def test_a_sent_and_a_refused_email_are_counted_by_outcome(
    run_notification: RunNotification, smtp_server: StartServer
) -> None:
    server = smtp_server("starttls", auth=True)
    server.handler.rcpt_reply = lambda address: "550 5.1.1 no such mailbox" if "refused" in address else None
    before = {outcome: attempts(outcome) for outcome in ("sent", "failed", "pending")}
    transactions = smtp_transactions()
    async with run_notification(server.port) as service:
        path, pdf = service.store_pdf("F-2026-000041")
        await service.feed(DOCUMENT_RENDERED, rendered_event("F-2026-000041", path, pdf), key="F-2026-000041")
        path, pdf = service.store_pdf("F-2026-000042")
        refused = [{"name": "Nobody", "email": "refused@client.example"}]
        event = rendered_event("F-2026-000042", path, pdf, recipients=refused)
        await service.feed(DOCUMENT_RENDERED, event, key="F-2026-000042")
        await wait_until(lambda: settled(service, 2), what="both deliveries")
        statuses = sorted(r.status for r in await service.deliveries())

    assert statuses == ["failed", "sent"]
    assert attempts("sent") == before["sent"] + 1
    assert attempts("failed") == before["failed"] + 1
    assert attempts("pending") == before["pending"]
    assert smtp_transactions() == transactions + 2
