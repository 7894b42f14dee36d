"""The dead-letter table's reads and writes for a replay: its only SQL outside the consumer."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import RowMapping, Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


async def find_dead_letter(
    read_sessions: async_sessionmaker[AsyncSession], dead_letters: Table, dead_letter_id: int
) -> RowMapping | None:
    dl = dead_letters
    async with read_sessions() as session:
        return (await session.execute(select(dl).where(dl.c.id == dead_letter_id))).mappings().first()


async def mark_replayed(
    sessions: async_sessionmaker[AsyncSession], dead_letters: Table, dead_letter_id: int
) -> None:
    dl = dead_letters
    async with sessions() as session, session.begin():
        await session.execute(
            update(dl).where(dl.c.id == dead_letter_id).values(replayed_at=dt.datetime.now(dt.UTC))
        )
