"""The SFTP login audit table: every attempt, and the recent failures the lockout counts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_export.adapters.orm import SftpLoginAttemptRow

FAILED = "failed"  # the only outcome the lockout counts


async def add_attempt(
    session: AsyncSession,
    *,
    at: dt.datetime,
    username: str,
    address: str,
    method: str,
    outcome: str,
    reason: str,
) -> None:
    await session.execute(
        insert(SftpLoginAttemptRow).values(
            at=at,
            username=username[:64],
            address=address[:64],
            method=method,
            outcome=outcome,
            reason=reason[:200],
        )
    )


async def recent_failures(
    session: AsyncSession,
    *,
    since: dt.datetime,
    limit: int,
    username: str | None = None,
    address: str | None = None,
) -> list[dt.datetime]:
    """The times of the latest `limit` failures since `since`, of one user or of one address."""
    query = select(SftpLoginAttemptRow.at).where(
        SftpLoginAttemptRow.outcome == FAILED, SftpLoginAttemptRow.at >= since
    )
    if username is not None:
        query = query.where(SftpLoginAttemptRow.username == username[:64])
    if address is not None:
        query = query.where(SftpLoginAttemptRow.address == address[:64])
    rows = await session.scalars(query.order_by(SftpLoginAttemptRow.at.desc()).limit(limit))
    return [_aware(at) for at in rows]


async def attempts_of(session: AsyncSession, username: str, limit: int = 100) -> list[SftpLoginAttemptRow]:
    rows = await session.scalars(
        select(SftpLoginAttemptRow)
        .where(SftpLoginAttemptRow.username == username[:64])
        .order_by(SftpLoginAttemptRow.id.desc())
        .limit(limit)
    )
    return list(rows)


def _aware(at: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; everything stored here is UTC.
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
