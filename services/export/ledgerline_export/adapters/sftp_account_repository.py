"""SFTP logins as rows of `sftp_users`: the only place that knows the table."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_export.adapters.database import as_utc
from ledgerline_export.adapters.orm import SftpUserRow
from ledgerline_export.domain.sftp_account import SftpLogin


def _aware(at: dt.datetime | None) -> dt.datetime | None:
    return as_utc(at) if at is not None else None


def _login(row: SftpUserRow) -> SftpLogin:
    return SftpLogin(
        username=row.username,
        subject=row.subject,
        password_hash=row.password_hash,
        authorized_keys=tuple(row.authorized_keys or ()),
        password_issued_at=_aware(row.password_issued_at),
        revoked_at=_aware(row.revoked_at),
        revoked_by=row.revoked_by,
    )


class SftpAccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def of_subject(self, subject: str) -> SftpLogin | None:
        row = await self._session.scalar(select(SftpUserRow).where(SftpUserRow.subject == subject))
        return _login(row) if row is not None else None

    async def get(self, username: str) -> SftpLogin | None:
        row = await self._session.get(SftpUserRow, username)
        return _login(row) if row is not None else None

    async def save(self, login: SftpLogin) -> None:
        """Insert or update the login (keyed by its username)."""
        row = await self._session.get(SftpUserRow, login.username)
        if row is None:
            row = SftpUserRow(username=login.username)
            self._session.add(row)
        row.subject = login.subject
        row.password_hash = login.password_hash
        row.authorized_keys = list(login.authorized_keys)
        row.password_issued_at = login.password_issued_at
        row.revoked_at = login.revoked_at
        row.revoked_by = login.revoked_by
        await self._session.flush()
