"""What notification consumes: renderings, send requests and finished exports. Each handler only
records deliveries in the consumer's transaction and wakes the worker once it has committed.

A finished export is mailed only as the export service's receipt says (file and requester), never as
the event alone says: an event that disagrees with its receipt is dead-lettered and nothing is sent."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_notification.config import NotificationSettings
from ledgerline_notification.service import recording
from ledgerline_notification.service.delivery_worker import DeliveryWorker
from ledgerline_notification.service.unit_of_work import NotificationUnitOfWork
from ledgerline_shared.contracts.events import DocumentRendered, ExportCompleted, SendRequested
from ledgerline_shared.contracts.export_receipt import ReceiptRefused, confirmed_requester, read_receipt
from ledgerline_shared.document_store import FolderDocumentStore
from ledgerline_shared.messaging.consumer import Inbound, PermanentError
from ledgerline_shared.runtime import ServiceRuntime
from ledgerline_shared.topics import DOCUMENT_RENDERED, EXPORT_COMPLETED, INVOICE_SEND_REQUESTED
from ledgerline_shared.unit_of_work import EventSink


class Subscribers:
    def __init__(self, settings: NotificationSettings, worker: DeliveryWorker, events: EventSink) -> None:
        self._settings = settings
        self._worker = worker
        self._events = events
        self._store = FolderDocumentStore(settings.document_root())

    def _joining(self, session: AsyncSession, event: Inbound[Any]) -> NotificationUnitOfWork:
        # Inside the idempotent consumer's transaction: it commits, then runs event.after_commit.
        return NotificationUnitOfWork.joining(session, self._events, event.after_commit)

    async def on_rendered(self, event: Inbound[DocumentRendered], session: AsyncSession) -> None:
        if await recording.on_document_rendered(self._joining(session, event), event.data):
            event.after_commit.append(self._worker.wake)

    async def on_send_requested(self, event: Inbound[SendRequested], session: AsyncSession) -> None:
        if await recording.on_send_requested(self._joining(session, event), event.data):
            event.after_commit.append(self._worker.wake)

    async def on_export_completed(self, event: Inbound[ExportCompleted], session: AsyncSession) -> None:
        language = self._settings.export_mail_language
        data = event.data
        try:
            receipt = read_receipt(self._store, data.export_id)
            recipient = confirmed_requester(receipt, path=data.path, requested_by=data.requested_by)
        except ReceiptRefused as exc:
            raise PermanentError(str(exc)) from exc
        uow = self._joining(session, event)
        if await recording.on_export_completed(uow, data, recipient=recipient, language=language):
            event.after_commit.append(self._worker.wake)

    def register(self, runtime: ServiceRuntime) -> None:
        runtime.subscribe(DOCUMENT_RENDERED, self.on_rendered)
        runtime.subscribe(INVOICE_SEND_REQUESTED, self.on_send_requested)
        runtime.subscribe(EXPORT_COMPLETED, self.on_export_completed)
