"""Reading the delivery log: what was sent for a document, to whom, and what the server said."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_notification.adapters.orm import DeliveryRow, DeliveryStatus, KnownDocumentRow
from ledgerline_notification.domain.message import message_id_for
from ledgerline_notification.service.delivery_worker import utc


@dataclass(frozen=True)
class DocumentDeliveries:
    client_id: str | None  # whose document it is, for a portal user's access
    deliveries: list[DeliveryRow]


async def deliveries_of(session: AsyncSession, number: str) -> DocumentDeliveries:
    rows = list(
        (
            await session.scalars(
                select(DeliveryRow).where(DeliveryRow.number == number).order_by(DeliveryRow.created_at)
            )
        ).all()
    )
    known = await session.get(KnownDocumentRow, number)
    client_id = known.client_id if known else next((r.client_id for r in rows if r.client_id), None)
    return DocumentDeliveries(client_id, rows)


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


async def status_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status))
    return {row[0]: int(row[1]) for row in rows}


async def recent(session: AsyncSession, limit: int = 20) -> list[DeliveryRow]:
    query = select(DeliveryRow).order_by(DeliveryRow.created_at.desc()).limit(limit)
    return list((await session.scalars(query)).all())
