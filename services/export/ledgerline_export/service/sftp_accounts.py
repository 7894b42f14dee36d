"""SFTP accounts of API users: the username of a token subject, a password shown once, public keys.

The password is hashed (argon2id, in a worker thread: it costs tens of milliseconds and 64 MiB) before
the transaction opens; only the hash is stored. The SFTP server looks logins up by username.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

import asyncssh

from ledgerline_export.domain.sftp_account import SftpLogin
from ledgerline_export.domain.sftp_credentials import CredentialRecord, issue_sftp_password, sftp_username
from ledgerline_export.domain.sftp_login_policy import LoginPolicy, password_expired, password_expires_at
from ledgerline_export.service.errors import Conflict, NotFound, Refused
from ledgerline_export.service.unit_of_work import ExportUnitOfWork

MAX_KEYS = 20
DEFAULT_POLICY = LoginPolicy()


@dataclass(frozen=True)
class SftpAccount:
    """What the API shows of a login."""

    username: str
    password_set: bool
    keys: int
    password_expires_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


def _account(login: SftpLogin, policy: LoginPolicy) -> SftpAccount:
    has_password = login.password_hash is not None
    return SftpAccount(
        login.username,
        has_password,
        len(login.authorized_keys),
        password_expires_at(policy, login.password_issued_at) if has_password else None,
        login.revoked_at,
    )


async def account_of(
    uow: ExportUnitOfWork, subject: str, policy: LoginPolicy = DEFAULT_POLICY
) -> SftpAccount:
    async with uow:
        login = await uow.sftp_accounts.of_subject(subject)
    if login is None:
        return SftpAccount(sftp_username(subject), False, 0)
    return _account(login, policy)


async def revoke(
    uow: ExportUnitOfWork,
    *,
    by: str,
    subject: str | None = None,
    username: str | None = None,
) -> SftpAccount:
    """Wipe the login's password and keys and mark it revoked (NotFound when there is no such login)."""
    async with uow:
        if subject is not None:
            login = await uow.sftp_accounts.of_subject(subject)
        else:
            login = await uow.sftp_accounts.get(username or "")
        if login is None:
            raise NotFound("username", "no SFTP login for this user")
        login = login.revoked(by, dt.datetime.now(dt.UTC))
        await uow.sftp_accounts.save(login)
        await uow.commit()
    return _account(login, DEFAULT_POLICY)


async def _claim(uow: ExportUnitOfWork, subject: str) -> SftpLogin:
    """The subject's login, new on first use; a username already held by another subject is refused."""
    login = await uow.sftp_accounts.of_subject(subject)
    if login is not None:
        return login
    username = sftp_username(subject)
    if await uow.sftp_accounts.get(username) is not None:
        raise Conflict("sub", f"the SFTP username {username!r} belongs to another user")
    return SftpLogin(username=username, subject=subject)


async def issue_password(uow: ExportUnitOfWork, subject: str) -> tuple[str, str]:
    """A new password for the subject (the previous one stops working); returns (username, password).

    The owner, with a valid token, takes a revoked login back."""
    issued = await asyncio.to_thread(issue_sftp_password)
    async with uow:
        login = (await _claim(uow, subject)).with_password(issued.password_hash, dt.datetime.now(dt.UTC))
        await uow.sftp_accounts.save(login)
        await uow.commit()
    return login.username, issued.password


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


async def set_public_keys(uow: ExportUnitOfWork, subject: str, keys: list[str]) -> SftpAccount:
    checked = check_public_keys(keys)
    async with uow:
        login = (await _claim(uow, subject)).with_keys(checked)
        await uow.sftp_accounts.save(login)
        await uow.commit()
    return _account(login, DEFAULT_POLICY)


async def credentials(
    uow: ExportUnitOfWork, username: str, policy: LoginPolicy = DEFAULT_POLICY
) -> CredentialRecord | None:
    """What the SFTP server checks a login against, read afresh at every login: a revoked login is
    no login at all; an expired password is flagged so the right one is still refused."""
    async with uow:
        login = await uow.sftp_accounts.get(username)
    if login is None or login.revoked_at is not None:
        return None
    expired = password_expired(policy, login.password_issued_at, dt.datetime.now(dt.UTC))
    return CredentialRecord(
        login.username,
        login.password_hash,
        login.authorized_keys,
        password_expired=login.password_hash is not None and expired,
    )
