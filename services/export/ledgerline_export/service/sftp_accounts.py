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
from ledgerline_export.domain.sftp_login_policy import LoginPolicy, password_expired, password_expires_at
from ledgerline_export.service.errors import Conflict, NotFound, Refused

MAX_KEYS = 20
DEFAULT_POLICY = LoginPolicy()


@dataclass(frozen=True)
class SftpAccount:
    username: str
    password_set: bool
    keys: int
    password_expires_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


def _account(row: SftpUserRow, policy: LoginPolicy) -> SftpAccount:
    issued = _aware(row.password_issued_at)
    return SftpAccount(
        row.username,
        row.password_hash is not None,
        len(row.authorized_keys or []),
        password_expires_at(policy, issued) if row.password_hash is not None else None,
        _aware(row.revoked_at),
    )


async def account_of(
    session: AsyncSession, subject: str, policy: LoginPolicy = DEFAULT_POLICY
) -> SftpAccount:
    row = await session.scalar(select(SftpUserRow).where(SftpUserRow.subject == subject))
    if row is None:
        return SftpAccount(sftp_username(subject), False, 0)
    return _account(row, policy)


async def revoke(
    sessions: async_sessionmaker[AsyncSession],
    *,
    by: str,
    subject: str | None = None,
    username: str | None = None,
) -> SftpAccount:
    """Wipe the login's password and keys and mark it revoked (NotFound when there is no such login)."""
    async with sessions() as session, session.begin():
        if subject is not None:
            row = await session.scalar(select(SftpUserRow).where(SftpUserRow.subject == subject))
        else:
            row = await session.get(SftpUserRow, username)
        if row is None:
            raise NotFound("username", "no SFTP login for this user")
        row.password_hash = None
        row.password_issued_at = None
        row.authorized_keys = []
        row.revoked_at = dt.datetime.now(dt.UTC)
        row.revoked_by = by[:200]
        return _account(row, DEFAULT_POLICY)


def _aware(at: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; everything stored here is UTC.
    return at.replace(tzinfo=dt.UTC) if at is not None and at.tzinfo is None else at


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
        row.revoked_at = row.revoked_by = None  # the owner, with a valid token, takes the login back
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
        row.revoked_at = row.revoked_by = None
        return _account(row, DEFAULT_POLICY)


async def credentials(
    sessions: async_sessionmaker[AsyncSession], username: str, policy: LoginPolicy = DEFAULT_POLICY
) -> CredentialRecord | None:
    """What the SFTP server checks a login against, read afresh at every login: a revoked login is
    no login at all; an expired password is flagged so the right one is still refused."""
    async with sessions() as session:
        row = await session.get(SftpUserRow, username)
    if row is None or row.revoked_at is not None:
        return None
    expired = password_expired(policy, _aware(row.password_issued_at), dt.datetime.now(dt.UTC))
    return CredentialRecord(
        row.username,
        row.password_hash,
        tuple(row.authorized_keys or ()),
        password_expired=row.password_hash is not None and expired,
    )
