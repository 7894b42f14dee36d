"""Gapless numbering in the database: the sequence row is locked until the issuing transaction ends.

A number is taken in the same transaction that stores the document and its outbox event, so a
rollback gives the number back and two concurrent transactions queue on the row: never a duplicate,
never a hole. On PostgreSQL the row lock (SELECT ... FOR UPDATE) serialises issuers; on SQLite the
whole database is write-locked from BEGIN IMMEDIATE (shared.db), which serialises them too.
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.orm import NumberSequenceRow

SEQUENCES: Table = NumberSequenceRow.__table__  # type: ignore[assignment]


async def take_next_sequence(session: AsyncSession, series: str, year: int) -> int:
    """One statement: create the (series, year) row at 1 or add 1, and read the result.

    The upsert locks the row (PostgreSQL) or the database (SQLite) until the caller's transaction
    ends, so a second issuer waits for the first to commit or roll back, then continues from what
    it left: no duplicate, no hole.
    """
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(SEQUENCES)
        .values(series=series, year=year, last=1)
        .on_conflict_do_update(
            index_elements=[SEQUENCES.c.series, SEQUENCES.c.year], set_={"last": SEQUENCES.c.last + 1}
        )
        .returning(SEQUENCES.c.last)
    )
    return int((await session.execute(statement)).scalar_one())
