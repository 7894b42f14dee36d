"""The notification service process: subscribers, the delivery worker, the delivery log."""

from __future__ import annotations

from fastapi import FastAPI

from ledgerline_notification.adapters.database import migrate
from ledgerline_notification.adapters.orm import messaging
from ledgerline_notification.config import NotificationSettings, get_notification_settings
from ledgerline_notification.domain.delivery_rules import utc
from ledgerline_notification.entrypoints import http
from ledgerline_notification.entrypoints.subscribers import Subscribers
from ledgerline_notification.service.delivery_log import delivery_overview
from ledgerline_notification.service.delivery_worker import DeliveryWorker
from ledgerline_notification.service.unit_of_work import NotificationUnitOfWork
from ledgerline_shared.document_store import FolderDocumentStore
from ledgerline_shared.runtime import DashboardSection, ServiceRuntime
from ledgerline_shared.topics import INVOICE_DELIVERED, INVOICE_DELIVERY_FAILED

SERVICE = "notification"


def create_app(settings: NotificationSettings | None = None) -> FastAPI:
    settings = settings or get_notification_settings()
    runtime = ServiceRuntime(
        SERVICE, messaging, settings, publishes=[INVOICE_DELIVERED, INVOICE_DELIVERY_FAILED]
    )
    runtime.hooks.migrate = migrate

    def units() -> NotificationUnitOfWork:
        return NotificationUnitOfWork(runtime.sessions, runtime.event_sink, wake=runtime.relay.wake)

    def reading() -> NotificationUnitOfWork:
        return NotificationUnitOfWork(runtime.read_sessions, runtime.event_sink, read_only=True)

    worker = DeliveryWorker(units, reading, settings, FolderDocumentStore(settings.document_root()))
    runtime.hooks.on_start.append(worker.open)
    runtime.hooks.background.append(worker.run)
    runtime.hooks.on_stop.append(worker.close)
    subscribers = Subscribers(settings, worker, runtime.event_sink)
    subscribers.register(runtime)

    async def deliveries_section() -> DashboardSection:
        overview = await delivery_overview(reading())
        counts, rows = overview.counts, overview.recent
        summary = ", ".join(f"{status} {count}" for status, count in sorted(counts.items())) or "none yet"
        smtp = f"SMTP {settings.smtp_host}:{settings.smtp_port}: {worker.last_smtp_error or 'ok'}"
        return DashboardSection(
            title=f"Deliveries ({summary}; {smtp})",
            headers=["created", "number", "trigger", "status", "attempts", "to", "answer or error"],
            rows=[
                [
                    utc(r.created_at).isoformat(timespec="seconds"),
                    r.number,
                    r.trigger,
                    r.status,
                    r.attempts,
                    ", ".join(x["email"] for x in r.recipients),
                    r.smtp_response or r.error or "",
                ]
                for r in rows
            ],
        )

    runtime.hooks.dashboard.append(deliveries_section)
    app = runtime.create_app(
        http.router,
        title="Ledgerline notification",
        description="E-mail delivery of invoices, credit notes, proformas and export reports; delivery log.",
    )
    app.state.settings = settings
    app.state.delivery_worker = worker
    app.state.subscribers = subscribers
    return app
