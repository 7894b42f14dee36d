"""Reading the delivery log: what was sent for a document, to whom, and what the server said."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledgerline_notification.adapters.orm import DeliveryRow
from ledgerline_notification.domain.delivery import DeliveryStatus
from ledgerline_notification.domain.delivery_rules import utc
from ledgerline_notification.domain.message import message_id_for
from ledgerline_notification.service.unit_of_work import NotificationUnitOfWork


@dataclass(frozen=True)
class DocumentDeliveries:
    client_id: str | None  # whose document it is, for a portal user's access
    deliveries: list[DeliveryRow]


@dataclass(frozen=True)
class DeliveryOverview:
    counts: dict[str, int]  # status -> deliveries
    recent: list[DeliveryRow]  # newest first


async def deliveries_of(uow: NotificationUnitOfWork, number: str) -> DocumentDeliveries:
    """A document's deliveries, oldest first, and its client (known from its rendering, else from
    a delivery that names it)."""
    async with uow:
        rows = await uow.deliveries.of_document(number)
        known = await uow.documents.get(number)
    client_id = known.client_id if known else next((r.client_id for r in rows if r.client_id), None)
    return DocumentDeliveries(client_id, rows)


async def delivery_overview(uow: NotificationUnitOfWork, limit: int = 20) -> DeliveryOverview:
    """How many deliveries are in each status, and the latest ones (the operations dashboard)."""
    async with uow:
        return DeliveryOverview(await uow.deliveries.status_counts(), await uow.deliveries.recent(limit))


def describe(row: DeliveryRow) -> dict[str, Any]:
    pending = row.status == DeliveryStatus.PENDING.value
    return {
        "id": str(row.id),
        "message_id": message_id_for(row.id),
        "kind": row.kind,
        "number": row.number,
        "request_id": row.request_id,
        "trigger": row.trigger,
        "status": row.status,
        "to": [r["email"] for r in row.recipients],
        "language": row.language,
        "requested_by": row.requested_by,
        "attempts": row.attempts,
        "next_attempt_at": utc(row.next_attempt_at).isoformat() if pending else None,
        "smtp_response": row.smtp_response,
        "error": row.error,
        "created_at": utc(row.created_at).isoformat(),
        "sent_at": utc(row.sent_at).isoformat() if row.sent_at else None,
        "finished_at": utc(row.finished_at).isoformat() if row.finished_at else None,
    }
