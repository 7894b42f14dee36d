"""SFTP accounts of API users: the username of a token subject, a password shown once, public keys.

The password is hashed (argon2id, in a worker thread: it costs tens of milliseconds and 64 MiB) before
the transaction opens; only the hash is stored. The SFTP server looks accounts up by username.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

import asyncssh
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledgerline_export.adapters.orm import SftpUserRow
from ledgerline_export.domain.sftp_credentials import CredentialRecord, issue_sftp_password, sftp_username
from ledgerline_export.service.errors import Conflict, Refused

MAX_KEYS = 20


@dataclass(frozen=True)
class SftpAccount:
    username: str
    password_set: bool
    keys: int


async def account_of(session: AsyncSession, subject: str) -> SftpAccount:
    row = await session.scalar(select(SftpUserRow).where(SftpUserRow.subject == subject))
    if row is None:
        return SftpAccount(sftp_username(subject), False, 0)
    return SftpAccount(row.username, row.password_hash is not None, len(row.authorized_keys or []))


async def _claim(session: AsyncSession, subject: str) -> SftpUserRow:
    """The subject's row, created on first use; a username already held by another subject is refused."""
    row = await session.scalar(select(SftpUserRow).where(SftpUserRow.subject == subject))
    if row is not None:
        return row
    username = sftp_username(subject)
    holder = await session.get(SftpUserRow, username)
    if holder is not None:
        raise Conflict("sub", f"the SFTP username {username!r} belongs to another user")
    row = SftpUserRow(username=username, subject=subject, password_hash=None, authorized_keys=[])
    session.add(row)
    return row


async def issue_password(sessions: async_sessionmaker[AsyncSession], subject: str) -> tuple[str, str]:
    """A new password for the subject (the previous one stops working); returns (username, password)."""
    issued = await asyncio.to_thread(issue_sftp_password)
    async with sessions() as session, session.begin():
        row = await _claim(session, subject)
        row.password_hash = issued.password_hash
        row.password_issued_at = dt.datetime.now(dt.UTC)
        username = row.username
    return username, issued.password


def check_public_keys(keys: list[str]) -> list[str]:
    if len(keys) > MAX_KEYS:
        raise Refused("keys", f"at most {MAX_KEYS} public keys")
    checked: list[str] = []
    for i, line in enumerate(keys):
        text = line.strip()
        if "PRIVATE KEY" in text:
            raise Refused(f"keys.{i}", "this is a private key: send only the public key line")
        try:
            key = asyncssh.import_public_key(text)
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise Refused(f"keys.{i}", f"not an OpenSSH public key: {exc}") from exc
        checked.append(key.export_public_key("openssh").decode().strip())
    return checked


async def set_public_keys(
    sessions: async_sessionmaker[AsyncSession], subject: str, keys: list[str]
) -> SftpAccount:
    checked = check_public_keys(keys)
    async with sessions() as session, session.begin():
        row = await _claim(session, subject)
        row.authorized_keys = checked
        return SftpAccount(row.username, row.password_hash is not None, len(checked))


async def credentials(sessions: async_sessionmaker[AsyncSession], username: str) -> CredentialRecord | None:
    """What the SFTP server checks a login against."""
    async with sessions() as session:
        row = await session.get(SftpUserRow, username)
    if row is None:
        return None
    return CredentialRecord(row.username, row.password_hash, tuple(row.authorized_keys or ()))
