"""What notification consumes: renderings, send requests and finished exports. Each handler only
records deliveries in the consumer's transaction and wakes the worker once it has committed.

A finished export is mailed only as the export service's receipt says (file and requester), never as
the event alone says: an event that disagrees with its receipt is dead-lettered and nothing is sent."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_notification.config import NotificationSettings
from ledgerline_notification.service import recording
from ledgerline_notification.service.delivery_worker import DeliveryWorker
from ledgerline_shared.contracts.events import DocumentRendered, ExportCompleted, SendRequested
from ledgerline_shared.contracts.export_receipt import ReceiptRefused, confirmed_requester, read_receipt
from ledgerline_shared.document_store import FolderDocumentStore
from ledgerline_shared.messaging.consumer import Inbound, PermanentError
from ledgerline_shared.runtime import ServiceRuntime
from ledgerline_shared.topics import DOCUMENT_RENDERED, EXPORT_COMPLETED, INVOICE_SEND_REQUESTED


class Subscribers:
    def __init__(self, settings: NotificationSettings, worker: DeliveryWorker) -> None:
        self._settings = settings
        self._worker = worker
        self._store = FolderDocumentStore(settings.document_root())

    async def on_rendered(self, event: Inbound[DocumentRendered], session: AsyncSession) -> None:
        if await recording.on_document_rendered(session, event.data) is not None:
            event.after_commit.append(self._worker.wake)

    async def on_send_requested(self, event: Inbound[SendRequested], session: AsyncSession) -> None:
        if await recording.on_send_requested(session, event.data) is not None:
            event.after_commit.append(self._worker.wake)

    async def on_export_completed(self, event: Inbound[ExportCompleted], session: AsyncSession) -> None:
        language = self._settings.export_mail_language
        data = event.data
        try:
            receipt = read_receipt(self._store, data.export_id)
            recipient = confirmed_requester(receipt, path=data.path, requested_by=data.requested_by)
        except ReceiptRefused as exc:
            raise PermanentError(str(exc)) from exc
        delivery = await recording.on_export_completed(session, data, recipient=recipient, language=language)
        if delivery is not None:
            event.after_commit.append(self._worker.wake)

    def register(self, runtime: ServiceRuntime) -> None:
        runtime.subscribe(DOCUMENT_RENDERED, self.on_rendered)
        runtime.subscribe(INVOICE_SEND_REQUESTED, self.on_send_requested)
        runtime.subscribe(EXPORT_COMPLETED, self.on_export_completed)
