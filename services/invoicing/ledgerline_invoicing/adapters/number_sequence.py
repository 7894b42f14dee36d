"""Gapless numbering in the database: the sequence row is locked until the issuing transaction ends.

A number is taken in the same transaction that stores the document and its outbox event, so a
rollback gives the number back and two concurrent transactions queue on the row: never a duplicate,
never a hole. On PostgreSQL the row lock (SELECT ... FOR UPDATE) serialises issuers; on SQLite the
whole database is write-locked from BEGIN IMMEDIATE (shared.db), which serialises them too.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.orm import NumberSequenceRow


async def take_next_sequence(session: AsyncSession, series: str, year: int) -> int:
    table = NumberSequenceRow.__table__
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # Make sure the row exists without racing another first issuer of the year.
    await session.execute(insert(table).values(series=series, year=year, last=0).on_conflict_do_nothing())
    query = select(table.c.last).where(table.c.series == series, table.c.year == year)
    if dialect == "postgresql":
        query = query.with_for_update()
    last = (await session.execute(query)).scalar_one()
    await session.execute(
        update(table).where(table.c.series == series, table.c.year == year).values(last=last + 1)
    )
    return int(last) + 1
