"""The reads of the messaging tables (outbox, parked outbox, dead letters) for the dashboard and the
state gauges (operations/gauges.py): their only SQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import RowMapping, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledgerline_shared.messaging.tables import MessagingTables

SHOWN = 50  # rows of each list on the page: the newest first


@dataclass(frozen=True)
class Backlog:
    """What the state gauges show: a few counts and one minimum, each answered by an index or a
    small table."""

    outbox_pending: int  # written, not yet published
    oldest_pending_at: dt.datetime | None  # the oldest of those (UTC), None when none waits
    parked_count: int  # rows that can never be published
    dead_letters_open: int  # dead letters not replayed


@dataclass(frozen=True)
class MessagingState:
    outbox_pending: int  # written, not yet published
    parked: Sequence[RowMapping]  # the newest rows that can never be published
    parked_count: int
    dead_letters: Sequence[RowMapping]  # the newest messages a consumer gave up on


async def _backlog(session: AsyncSession, tables: MessagingTables) -> Backlog:
    dl, outbox, po = tables.dead_letters, tables.outbox, tables.parked_outbox
    pending, oldest = (
        await session.execute(
            select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.sent_at.is_(None))
        )
    ).one()
    parked: Any = await session.scalar(select(func.count()).select_from(po))
    dead: Any = await session.scalar(select(func.count()).select_from(dl).where(dl.c.replayed_at.is_(None)))
    if oldest is not None and oldest.tzinfo is None:  # SQLite gives back naive UTC datetimes
        oldest = oldest.replace(tzinfo=dt.UTC)
    return Backlog(int(pending or 0), oldest, int(parked or 0), int(dead or 0))


async def backlog(read_sessions: async_sessionmaker[AsyncSession], tables: MessagingTables) -> Backlog:
    async with read_sessions() as session:
        return await _backlog(session, tables)


async def messaging_state(
    read_sessions: async_sessionmaker[AsyncSession], tables: MessagingTables
) -> MessagingState:
    dl, po = tables.dead_letters, tables.parked_outbox
    async with read_sessions() as session:
        dead = (await session.execute(select(dl).order_by(dl.c.id.desc()).limit(SHOWN))).mappings().all()
        counts = await _backlog(session, tables)
        parked = (
            (await session.execute(select(po).order_by(po.c.parked_at.desc(), po.c.id.desc()).limit(SHOWN)))
            .mappings()
            .all()
        )
    return MessagingState(counts.outbox_pending, parked, counts.parked_count, dead)
