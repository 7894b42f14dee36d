"""What notification consumes: renderings, send requests and finished exports. Each handler only
records deliveries in the consumer's transaction and wakes the worker once it has committed."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_notification.config import NotificationSettings
from ledgerline_notification.service import recording
from ledgerline_notification.service.delivery_worker import DeliveryWorker
from ledgerline_shared.contracts.events import DocumentRendered, ExportCompleted, SendRequested
from ledgerline_shared.messaging.consumer import Inbound
from ledgerline_shared.runtime import ServiceRuntime
from ledgerline_shared.topics import DOCUMENT_RENDERED, EXPORT_COMPLETED, INVOICE_SEND_REQUESTED


class Subscribers:
    def __init__(self, settings: NotificationSettings, worker: DeliveryWorker) -> None:
        self._settings = settings
        self._worker = worker

    async def on_rendered(self, event: Inbound[DocumentRendered], session: AsyncSession) -> None:
        if await recording.on_document_rendered(session, event.data) is not None:
            event.after_commit.append(self._worker.wake)

    async def on_send_requested(self, event: Inbound[SendRequested], session: AsyncSession) -> None:
        if await recording.on_send_requested(session, event.data) is not None:
            event.after_commit.append(self._worker.wake)

    async def on_export_completed(self, event: Inbound[ExportCompleted], session: AsyncSession) -> None:
        language = self._settings.export_mail_language
        if await recording.on_export_completed(session, event.data, language=language) is not None:
            event.after_commit.append(self._worker.wake)

    def register(self, runtime: ServiceRuntime) -> None:
        runtime.subscribe(DOCUMENT_RENDERED, self.on_rendered)
        runtime.subscribe(INVOICE_SEND_REQUESTED, self.on_send_requested)
        runtime.subscribe(EXPORT_COMPLETED, self.on_export_completed)
