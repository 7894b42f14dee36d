"""The dashboard's reads of the messaging tables (outbox, parked outbox, dead letters): its only SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import RowMapping, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledgerline_shared.messaging.tables import MessagingTables

SHOWN = 50  # rows of each list on the page: the newest first


@dataclass(frozen=True)
class MessagingState:
    outbox_pending: int  # written, not yet published
    parked: Sequence[RowMapping]  # the newest rows that can never be published
    parked_count: int
    dead_letters: Sequence[RowMapping]  # the newest messages a consumer gave up on


async def messaging_state(
    read_sessions: async_sessionmaker[AsyncSession], tables: MessagingTables
) -> MessagingState:
    dl, outbox, po = tables.dead_letters, tables.outbox, tables.parked_outbox
    async with read_sessions() as session:
        dead = (await session.execute(select(dl).order_by(dl.c.id.desc()).limit(SHOWN))).mappings().all()
        pending: Any = await session.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        )
        parked = (
            (await session.execute(select(po).order_by(po.c.parked_at.desc(), po.c.id.desc()).limit(SHOWN)))
            .mappings()
            .all()
        )
        parked_count: Any = await session.scalar(select(func.count()).select_from(po))
    return MessagingState(int(pending or 0), parked, int(parked_count or 0), dead)
