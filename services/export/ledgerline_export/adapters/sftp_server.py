"""The export service's SFTP server: who may log in, and the listener serving the read-only tree.

The tree it serves, and why it is confined the way it is: adapters/sftp_tree.py.

Authentication: password (argon2id hash from `credentials_lookup`) or public key (the record's OpenSSH
lines). No shell, exec, scp, pty, agent/X11/TCP/Unix forwarding: the session serves the SFTP subsystem only.
With a `gate`, every attempt is first checked against the lockout (per user and per address) and then
recorded in the audit log; a wrong password is answered after `failure_delay_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import weakref
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Protocol

import asyncssh
import structlog

from ledgerline_export.adapters.sftp_tree import PRODUCTION, ProductionTreeSFTPServer
from ledgerline_export.domain.sftp_credentials import (
    CredentialRecord,
    hash_sftp_password,
    verify_sftp_password,
)
from ledgerline_export.domain.sftp_login_policy import FAILED, REFUSED, SUCCESS

log = structlog.get_logger(__name__)

CredentialsLookup = Callable[[str], Awaitable[CredentialRecord | None]]


class LoginGate(Protocol):
    """Lockout and audit of login attempts (service/sftp_logins.py)."""

    async def refusal(self, username: str, address: str) -> str | None: ...

    async def record(
        self, username: str, address: str, method: str, outcome: str, reason: str = ""
    ) -> None: ...


_HOST_KEY_ALG = "ssh-ed25519"

# argon2id costs 64 MiB and tens of ms per attempt: at most this many at once (the host has 2 cores).
_CONCURRENT_PASSWORD_CHECKS = 2
_LOGIN_TIMEOUT_SECONDS = 30

# Live connections per listener, so stop_sftp_server can close sessions and not only the socket.
_LIVE: weakref.WeakKeyDictionary[asyncssh.SSHAcceptor, set[asyncssh.SSHServerConnection]] = (
    weakref.WeakKeyDictionary()
)


class SftpHostKeyExposed(PermissionError):
    """The host key file can be read by group or others: refuse to serve with a leaked identity."""


class _Authenticator(asyncssh.SSHServer):
    """Password and public-key authentication against `credentials_lookup`, one instance per connection."""

    def __init__(
        self,
        lookup: CredentialsLookup,
        password_gate: asyncio.Semaphore,
        decoy_hash: str,
        live: set[asyncssh.SSHServerConnection],
        login_gate: LoginGate | None = None,
        failure_delay_s: float = 0.0,
    ) -> None:
        self._lookup = lookup
        self._gate = password_gate
        self._decoy_hash = decoy_hash
        self._live = live
        self._login_gate = login_gate
        self._failure_delay_s = failure_delay_s
        self._conn: asyncssh.SSHServerConnection | None = None
        self._address = "unknown"
        self._user_and_method: tuple[str, str] | None = None  # what auth_completed records
        self._audits: set[asyncio.Task[None]] = set()

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._live.add(conn)
        peer = conn.get_extra_info("peername")
        if peer:
            self._address = str(peer[0])

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._live.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True  # every user must authenticate

    def auth_completed(self) -> None:
        if self._login_gate is not None and self._user_and_method is not None:
            username, method = self._user_and_method
            task = asyncio.get_running_loop().create_task(self._audit(username, method, SUCCESS))
            self._audits.add(task)
            task.add_done_callback(self._audits.discard)

    async def _audit(self, username: str, method: str, outcome: str, reason: str = "") -> None:
        if self._login_gate is None:
            return
        try:
            await self._login_gate.record(username, self._address, method, outcome, reason)
        except Exception:  # the audit row failing must not open or close anything by itself
            log.exception("sftp login audit failed", username=username, outcome=outcome)

    async def _locked(self, username: str, method: str) -> bool:
        if self._login_gate is None:
            return False
        try:
            refusal = await self._login_gate.refusal(username, self._address)
        except Exception:  # fail closed
            log.exception("sftp lockout check failed", username=username)
            return True
        if refusal is not None:
            await self._audit(username, method, REFUSED, refusal)
            return True
        return False

    def password_auth_supported(self) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def kbdint_auth_supported(self) -> bool:
        return False

    async def _record(self, username: str) -> CredentialRecord | None:
        try:
            record = await self._lookup(username)
        except Exception:  # fail closed: a broken lookup must not let anyone in nor kill the server
            log.exception("sftp credentials lookup failed", username=username)
            return None
        return record if record is not None and record.username == username else None

    async def validate_password(self, username: str, password: str) -> bool:
        if await self._locked(username, "password"):
            return False
        record = await self._record(username)
        known_hash = record.password_hash if record is not None else None
        # Unknown users are checked against a decoy hash so timing does not tell which names exist.
        async with self._gate:
            ok = await asyncio.to_thread(verify_sftp_password, known_hash or self._decoy_hash, password)
        if not (ok and known_hash):
            log.info("sftp password refused", username=username)
            await self._audit(username, "password", FAILED, "wrong password, unknown or revoked user")
            await asyncio.sleep(self._failure_delay_s)
            return False
        if record is not None and record.password_expired:
            await self._audit(username, "password", REFUSED, "password expired")
            return False
        self._user_and_method = (username, "password")
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if await self._locked(username, "publickey"):
            return False
        record = await self._record(username)
        if record is None:
            await self._audit(username, "publickey", REFUSED, "unknown or revoked user")
            return False
        for line in record.authorized_keys:
            try:
                allowed = asyncssh.import_public_key(line)
            except (asyncssh.KeyImportError, ValueError):
                log.warning("sftp authorized key unreadable, skipped", username=username)
                continue
            if allowed.public_data == key.public_data:
                self._user_and_method = (username, "publickey")
                return True
        await self._audit(username, "publickey", REFUSED, "key not authorised")
        return False


def load_or_create_host_key(host_key_path: Path) -> asyncssh.SSHKey:
    """The server's Ed25519 host key: generated on first start into a 0600 file, read back afterwards."""
    if not host_key_path.exists():
        host_key_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = asyncssh.generate_private_key(_HOST_KEY_ALG, comment="ledgerline-export-sftp")
        tmp = host_key_path.with_name(f".{host_key_path.name}.{secrets.token_hex(6)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(key.export_private_key("openssh"))
                out.flush()
                os.fsync(out.fileno())
            # no-clobber: if another process won the race, its key is the one used
            with contextlib.suppress(FileExistsError):
                os.link(tmp, host_key_path)
        finally:
            tmp.unlink(missing_ok=True)
    mode = host_key_path.stat().st_mode
    if mode & 0o077:
        raise SftpHostKeyExposed(f"{host_key_path} is accessible to group/others (mode {mode & 0o777:o})")
    return asyncssh.read_private_key(host_key_path)


async def start_sftp_server(
    host: str,
    port: int,
    store_root: Path,
    host_key_path: Path,
    credentials_lookup: CredentialsLookup,
    *,
    gate: LoginGate | None = None,
    failure_delay_s: float = 0.0,
) -> asyncssh.SSHAcceptor:
    """Listen on host:port (port 0: any free port, see `acceptor.get_port()`); stop with stop_sftp_server."""
    production_root = (store_root / PRODUCTION).resolve()
    production_root.mkdir(parents=True, exist_ok=True)  # a fresh store still shows an empty /production
    host_key = load_or_create_host_key(host_key_path)
    password_gate = asyncio.Semaphore(_CONCURRENT_PASSWORD_CHECKS)
    decoy_hash = await asyncio.to_thread(hash_sftp_password, secrets.token_urlsafe(18))
    live: set[asyncssh.SSHServerConnection] = set()

    acceptor = await asyncssh.listen(
        host,
        port,
        server_factory=partial(
            _Authenticator, credentials_lookup, password_gate, decoy_hash, live, gate, failure_delay_s
        ),
        server_host_keys=[host_key],
        sftp_factory=partial(ProductionTreeSFTPServer, production_root=production_root),
        sftp_version=3,
        allow_scp=False,
        process_factory=None,
        session_factory=None,
        password_auth=True,
        public_key_auth=True,
        kbdint_auth=False,
        host_based_auth=False,
        authorized_client_keys=None,
        x509_trusted_certs=None,
        gss_host=None,
        gss_kex=False,
        gss_auth=False,
        agent_forwarding=False,
        x11_forwarding=False,
        allow_pty=False,
        rdns_lookup=False,
        login_timeout=_LOGIN_TIMEOUT_SECONDS,
    )
    _LIVE[acceptor] = live
    log.info("sftp server listening", host=host, port=acceptor.get_port(), root=str(production_root))
    return acceptor


async def stop_sftp_server(acceptor: asyncssh.SSHAcceptor) -> None:
    """Stop accepting, close the open sessions and wait until they are gone."""
    acceptor.close()
    connections = list(_LIVE.pop(acceptor, set()))
    for conn in connections:
        conn.close()
    for conn in connections:
        await conn.wait_closed()
    await acceptor.wait_closed()
