"""Which e-mails to send, recorded as deliveries in the consumer's transaction (spec section 7; the
rules are domain/delivery). Sending is the worker's job, after the commit: each use case says
whether it recorded a delivery, so the caller wakes the worker."""

from __future__ import annotations

import datetime as dt

from ledgerline_notification.domain.delivery import (
    NewDelivery,
    automatic_delivery,
    export_report_delivery,
    requested_delivery,
    sends_automatically,
    supersedes,
)
from ledgerline_notification.service.unit_of_work import NotificationUnitOfWork
from ledgerline_shared.contracts.events import DocumentRendered, ExportCompleted, SendRequested


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def on_document_rendered(uow: NotificationUnitOfWork, event: DocumentRendered) -> bool:
    """Remember the document's newest version; record the automatic delivery after the first rendering."""
    async with uow:
        if event.number is None:
            return False  # a preview has no number: nothing can ask to send it
        known = await uow.documents.get(event.number)
        if supersedes(known.version if known else None, event.version):
            await uow.documents.remember(event, _now())
        recorded = sends_automatically(event) and await _record(uow, automatic_delivery(event))
        await uow.commit()
    return recorded


async def on_send_requested(uow: NotificationUnitOfWork, event: SendRequested) -> bool:
    """A new delivery per request, to the request's (current) recipients, with the latest PDF."""
    async with uow:
        if await uow.deliveries.exists(event.number, event.request_id):
            return False
        known = await uow.documents.get(event.number)
        delivery = requested_delivery(
            event,
            client_id=known.client_id if known else None,
            latest_pdf=known.pdf_path if known else None,
        )
        await uow.deliveries.record(delivery, _now())
        await uow.commit()
    return True


async def on_export_completed(
    uow: NotificationUnitOfWork, event: ExportCompleted, *, recipient: str, language: str
) -> bool:
    """`recipient`: the requester recorded by the export service (its receipt), never the event's own."""
    async with uow:
        delivery = export_report_delivery(event, recipient=recipient, language=language)
        recorded = await _record(uow, delivery)
        await uow.commit()
    return recorded


async def _record(uow: NotificationUnitOfWork, delivery: NewDelivery) -> bool:
    """Record `delivery` unless its (number, request id) has one: the event was redelivered."""
    if await uow.deliveries.exists(delivery.number, delivery.request_id):
        return False
    await uow.deliveries.record(delivery, _now())
    return True
