"""Notification's unit of work: one transaction over the delivery log, the documents it knows, and
the outbox (`invoice.delivered`, `invoice.delivery_failed`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_notification.adapters.delivery_repository import DeliveryRepository
from ledgerline_notification.adapters.known_documents import KnownDocumentRepository
from ledgerline_shared.unit_of_work import UnitOfWork


class NotificationUnitOfWork(UnitOfWork):
    deliveries: DeliveryRepository
    documents: KnownDocumentRepository

    def _open(self, session: AsyncSession) -> None:
        self.deliveries = DeliveryRepository(session)
        self.documents = KnownDocumentRepository(session)
