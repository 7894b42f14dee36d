"""Claiming what a production run bills, so that two runs never bill the same thing.

Two runs for different periods may bill the same client at once: both would see a late call record
or a `once` item as unbilled. A production chunk therefore first locks its clients' rows (PostgreSQL
SELECT ... FOR UPDATE, in id order so two chunks cannot deadlock; SQLite's BEGIN IMMEDIATE already
serialises writers) and reads the folders only then: under READ COMMITTED each later statement sees
what the other run committed. The claims below then write only rows still unbilled and check the
count, so a row taken by someone else rolls the invoice back instead of billing it twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, text, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.orm import CallRecordRow, ClientRow, OneTimeItemRow

# SQLite limits the parameters of one statement.
_SQLITE_CHUNK = 1000


class AlreadyClaimed(Exception):
    """Some rows an invoice was built from were billed by another run meanwhile."""


class BillingClaims:
    """The locks and claims of a production chunk, on the unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lock_clients(self, client_ids: Sequence[str]) -> None:
        await lock_clients_for_billing(self._session, client_ids)

    async def claim_unbilled_calls(self, billed: list[tuple[list[int], str]]) -> None:
        await claim_unbilled_calls(self._session, billed)

    async def claim_once_items(self, item_ids: list[str]) -> None:
        await claim_once_items(self._session, item_ids)

    async def mark_items_billed(self, billed: list[dict[str, str]]) -> None:
        await mark_items_billed(self._session, billed)


async def lock_clients_for_billing(session: AsyncSession, client_ids: Sequence[str]) -> None:
    """Hold the clients' rows until the caller's transaction ends (a no-op lock on SQLite)."""
    ids = sorted(client_ids)
    for start in range(0, len(ids), _SQLITE_CHUNK):
        await session.execute(
            select(ClientRow.id)
            .where(ClientRow.id.in_(ids[start : start + _SQLITE_CHUNK]))
            .order_by(ClientRow.id)
            .with_for_update()
        )


def _count(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


async def claim_unbilled_calls(session: AsyncSession, billed: list[tuple[list[int], str]]) -> None:
    """Attach each invoice's call records to it, only where no invoice holds them yet; raise
    AlreadyClaimed if any was taken. On PostgreSQL one statement for all the invoices given."""
    wanted = sum(len(call_ids) for call_ids, _number in billed)
    if not wanted:
        return
    claimed = 0
    if session.get_bind().dialect.name == "postgresql":
        ids = [call_id for call_ids, _number in billed for call_id in call_ids]
        numbers = [number for call_ids, number in billed for _ in call_ids]
        claimed = _count(
            await session.execute(
                text(
                    "UPDATE call_records SET invoice_number = billed.number"
                    " FROM unnest(CAST(:ids AS BIGINT[]), CAST(:numbers AS VARCHAR[])) AS billed(id, number)"
                    " WHERE call_records.id = billed.id AND call_records.invoice_number IS NULL"
                ),
                {"ids": ids, "numbers": numbers},
            )
        )
    else:
        for call_ids, number in billed:
            for start in range(0, len(call_ids), _SQLITE_CHUNK):
                claimed += _count(
                    await session.execute(
                        update(CallRecordRow)
                        .where(
                            CallRecordRow.id.in_(call_ids[start : start + _SQLITE_CHUNK]),
                            CallRecordRow.invoice_number.is_(None),
                        )
                        .values(invoice_number=number)
                    )
                )
    if claimed != wanted:
        raise AlreadyClaimed(f"{wanted - claimed} call record(s) already billed by another run")


async def claim_once_items(session: AsyncSession, item_ids: list[str]) -> None:
    """Deactivate the `once` items billed, only those still active; raise AlreadyClaimed otherwise."""
    claimed = 0
    for start in range(0, len(item_ids), _SQLITE_CHUNK):
        claimed += _count(
            await session.execute(
                update(OneTimeItemRow)
                .where(OneTimeItemRow.id.in_(item_ids[start : start + _SQLITE_CHUNK]), OneTimeItemRow.active)
                .values(active=False)
            )
        )
    if claimed != len(item_ids):
        raise AlreadyClaimed(f"{len(item_ids) - claimed} one-time item(s) already billed by another run")


async def mark_items_billed(session: AsyncSession, billed: list[dict[str, str]]) -> None:
    """Point each billed one-time item at its invoice ({"id", "billed_by"} rows, by primary key)."""
    if billed:
        await session.execute(update(OneTimeItemRow), billed)
