"""The delivery log's repository: recording deliveries, the worker's claims and outcomes, reading
the log back. The only place that reads and writes the `deliveries` table.

Claims and outcomes are conditional updates: a delivery is claimed only while still `pending`, and
an outcome is recorded only while the delivery is still `sending`, so two processes never both
send a delivery, and a delivery settled by another process (its lease ran out) is never announced
twice.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_notification.adapters.orm import DeliveryRow
from ledgerline_notification.domain.delivery import DeliveryStatus, NewDelivery
from ledgerline_notification.domain.delivery_rules import Outcome
from ledgerline_shared.observability import tracing


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # -- recording ------------------------------------------------------------------------
    async def exists(self, number: str, request_id: str) -> bool:
        found = await self._session.scalar(
            select(DeliveryRow.id).where(DeliveryRow.number == number, DeliveryRow.request_id == request_id)
        )
        return found is not None

    async def record(self, delivery: NewDelivery, at: dt.datetime) -> DeliveryRow:
        """A new `pending` delivery, due at once."""
        row = DeliveryRow(
            kind=delivery.kind.value,
            number=delivery.number,
            request_id=delivery.request_id,
            trigger=delivery.trigger.value,
            status=DeliveryStatus.PENDING.value,
            recipients=delivery.recipients,
            language=delivery.language,
            client_id=delivery.client_id,
            requested_by=delivery.requested_by,
            attachment_path=delivery.attachment_path,
            details=delivery.details,
            trace_context=tracing.current_carrier() or None,
            attempts=0,
            next_attempt_at=at,
            created_at=at,
        )
        self._session.add(row)
        await self._session.flush()
        return row

    # -- the worker -----------------------------------------------------------------------
    async def claim_due_deliveries(self, now: dt.datetime, limit: int, claimant: str) -> list[DeliveryRow]:
        """The due `pending` deliveries, oldest due first, made `sending` for `claimant` (attempts + 1).
        The rows returned carry the attempt count as committed."""
        due = (
            await self._session.scalars(
                select(DeliveryRow)
                .where(
                    DeliveryRow.status == DeliveryStatus.PENDING.value,
                    DeliveryRow.next_attempt_at <= now,
                )
                .order_by(DeliveryRow.next_attempt_at)
                .limit(limit)
            )
        ).all()
        claimed: list[DeliveryRow] = []
        for row in due:
            # Conditional: another worker process may have taken it since the select.
            result = await self._session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == row.id, DeliveryRow.status == DeliveryStatus.PENDING.value)
                .values(
                    status=DeliveryStatus.SENDING.value,
                    attempts=DeliveryRow.attempts + 1,
                    claimed_by=claimant,
                    claimed_at=now,
                    smtp_started_at=None,
                )
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) == 1:
                claimed.append(row)
        return claimed

    async def record_attempt(
        self, delivery_id: uuid.UUID, outcome: Outcome, *, attachment_path: str | None, at: dt.datetime
    ) -> bool:
        """Settle a claim of this process with `outcome`; False if another process settled it first."""
        values: dict[str, object] = {
            "status": outcome.status.value,
            "error": outcome.error,
            "claimed_by": None,
            "attachment_path": outcome.attachment_path or attachment_path,
        }
        if outcome.status is DeliveryStatus.PENDING:
            values["next_attempt_at"] = outcome.next_attempt_at or at
        else:
            values["finished_at"] = at
        if outcome.status is DeliveryStatus.SENT:
            values.update(smtp_response=outcome.smtp_response, sent_at=at)
        result = await self._session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id == delivery_id, DeliveryRow.status == DeliveryStatus.SENDING.value)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def mark_smtp_started(self, delivery_id: uuid.UUID, claimant: str, at: dt.datetime) -> bool:
        """Just before the SMTP transaction: False if the claim is no longer this process's.

        The claim's lease starts again here: a delivery that waited in its batch for a connection
        is taken over only if its transaction itself outlives the lease, not because the batch did
        (a live instance's in-flight e-mails reported `unconfirmed` by another, in the fault test)."""
        result = await self._session.execute(
            update(DeliveryRow)
            .where(
                DeliveryRow.id == delivery_id,
                DeliveryRow.status == DeliveryStatus.SENDING.value,
                DeliveryRow.claimed_by == claimant,
            )
            .values(smtp_started_at=at, claimed_at=at)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def expired_claims(self, cutoff: dt.datetime, *, not_held_by: str) -> list[DeliveryRow]:
        """`sending` deliveries claimed before `cutoff` by another (or an unknown) process, locked
        until the transaction ends (PostgreSQL): of two instances sweeping at once, each row goes to
        one (the other skips it, or no longer finds it `sending`), so it is announced once."""
        rows = await self._session.scalars(
            select(DeliveryRow)
            .where(
                DeliveryRow.status == DeliveryStatus.SENDING.value,
                DeliveryRow.claimed_at <= cutoff,
                (DeliveryRow.claimed_by != not_held_by) | DeliveryRow.claimed_by.is_(None),
            )
            .with_for_update(skip_locked=True)
        )
        return list(rows.all())

    async def take_over(self, row: DeliveryRow, outcome: Outcome, at: dt.datetime) -> None:
        """Settle an expired claim (read in this transaction) with `outcome`: final, or due again."""
        row.status = outcome.status.value
        row.error = outcome.error
        if outcome.status is DeliveryStatus.PENDING:
            row.next_attempt_at = outcome.next_attempt_at or at
        else:
            row.finished_at = at
        row.claimed_by = None  # written with the transaction's commit

    # -- the log --------------------------------------------------------------------------
    async def of_document(self, number: str) -> list[DeliveryRow]:
        """Every delivery of a document (or an export), oldest first."""
        query = select(DeliveryRow).where(DeliveryRow.number == number).order_by(DeliveryRow.created_at)
        return list((await self._session.scalars(query)).all())

    async def status_counts(self) -> dict[str, int]:
        rows = await self._session.execute(
            select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status)
        )
        return {row[0]: int(row[1]) for row in rows}

    async def recent(self, limit: int = 20) -> list[DeliveryRow]:
        query = select(DeliveryRow).order_by(DeliveryRow.created_at.desc()).limit(limit)
        return list((await self._session.scalars(query)).all())
