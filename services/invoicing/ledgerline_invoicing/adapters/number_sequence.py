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


async def take_next_sequence(session: AsyncSession, series: str, year: int, count: int = 1) -> int:
    """One statement: create the (series, year) row at `count` or add `count`, and read the result.

    The upsert locks the row (PostgreSQL) or the database (SQLite) until the caller's transaction
    ends, so a second issuer waits for the first to commit or roll back, then continues from what
    it left: no duplicate, no hole. With `count` > 1 the caller takes the block of numbers
    result - count + 1 .. result at once (a billing run numbering a chunk of invoices), and must
    use all of them or roll back.
    """
    if count < 1:
        raise ValueError("at least one number is taken")
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(SEQUENCES)
        .values(series=series, year=year, last=count)
        .on_conflict_do_update(
            index_elements=[SEQUENCES.c.series, SEQUENCES.c.year], set_={"last": SEQUENCES.c.last + count}
        )
        .returning(SEQUENCES.c.last)
    )
    return int((await session.execute(statement)).scalar_one())


class NumberSequence:
    """The gapless counters of document numbers, one row per (series prefix, year)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def take(self, prefix: str, year: int, count: int = 1) -> int:
        """The last of `count` numbers taken (see `take_next_sequence`); held until commit."""
        return await take_next_sequence(self._session, prefix, year, count)
