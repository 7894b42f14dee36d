"""The SFTP login audit table: every attempt, and the recent failures the lockout counts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_export.adapters.database import as_utc
from ledgerline_export.adapters.orm import SftpLoginAttemptRow
from ledgerline_export.domain.sftp_login_policy import FAILED


class SftpLoginLog:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_attempt(
        self,
        *,
        at: dt.datetime,
        username: str,
        address: str,
        method: str,
        outcome: str,
        reason: str,
    ) -> None:
        await self._session.execute(
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
        self,
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
        rows = await self._session.scalars(query.order_by(SftpLoginAttemptRow.at.desc()).limit(limit))
        return [as_utc(at) for at in rows]
