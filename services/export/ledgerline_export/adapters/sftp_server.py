"""The export service's SFTP server: the document store's `production/` tree, read-only, over asyncssh.

What a user sees: `/` holds only `production`; below it `/production/<YYYY-MM>/invoices-pdf|invoices-json|
invoices-xml/<file>`, which maps to `<store_root>/production/...`. Nothing else of the machine is reachable.

Why asyncssh's own `chroot` is not used: it maps paths lexically and then follows any symlink met on the
disk, even one leading out of the tree (its docstring says so). Here every client path is normalised
against `/` (`..` stops at the root), mapped under `<store_root>/production`, then `os.path.realpath`'d;
whatever resolves outside that folder is answered "no such file", as are dot-files (the store writes
`.tmp-*` files before its atomic rename) and anything that is neither a regular file nor a directory.
Every mutating request is refused with "permission denied". Attributes carry no owner, group or write bit.

Authentication: password (argon2id hash from `credentials_lookup`) or public key (the record's OpenSSH
lines). No shell, exec, scp, pty, agent/X11/TCP/Unix forwarding: the session serves the SFTP subsystem only.
With a `gate`, every attempt is first checked against the lockout (per user and per address) and then
recorded in the audit log; a wrong password is answered after `failure_delay_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import posixpath
import secrets
import stat
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Protocol

import asyncssh
import structlog

from ledgerline_export.domain.sftp_credentials import (
    CredentialRecord,
    hash_sftp_password,
    verify_sftp_password,
)

log = structlog.get_logger(__name__)

CredentialsLookup = Callable[[str], Awaitable[CredentialRecord | None]]


class LoginGate(Protocol):
    """Lockout and audit of login attempts (service/sftp_logins.py)."""

    async def refusal(self, username: str, address: str) -> str | None: ...

    async def record(
        self, username: str, address: str, method: str, outcome: str, reason: str = ""
    ) -> None: ...


PRODUCTION = "production"
_PRODUCTION_B = PRODUCTION.encode()
_READ_ONLY = "The SFTP tree is read-only"
_HOST_KEY_ALG = "ssh-ed25519"

_V3_WRITE_FLAGS = (
    asyncssh.FXF_WRITE | asyncssh.FXF_APPEND | asyncssh.FXF_CREAT | asyncssh.FXF_TRUNC | asyncssh.FXF_EXCL
)
_V56_WRITE_ACCESS = asyncssh.ACE4_WRITE_DATA | asyncssh.ACE4_APPEND_DATA | asyncssh.ACE4_WRITE_ATTRIBUTES
# O_NOFOLLOW: the path handed to open() is already resolved, so a link appearing there now is a race;
# O_NONBLOCK: a FIFO planted in the store must not hang the server before the S_ISREG check refuses it.
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC

# argon2id costs 64 MiB and tens of ms per attempt: at most this many at once (the host has 2 cores).
_CONCURRENT_PASSWORD_CHECKS = 2
_LOGIN_TIMEOUT_SECONDS = 30

# Live connections per listener, so stop_sftp_server can close sessions and not only the socket.
_LIVE: weakref.WeakKeyDictionary[asyncssh.SSHAcceptor, set[asyncssh.SSHServerConnection]] = (
    weakref.WeakKeyDictionary()
)


class SftpHostKeyExposed(PermissionError):
    """The host key file can be read by group or others: refuse to serve with a leaked identity."""


def _not_found() -> asyncssh.SFTPNoSuchFile:
    return asyncssh.SFTPNoSuchFile("No such file")


def _read_only_attrs(st: os.stat_result) -> asyncssh.SFTPAttrs:
    """Type, size, read-only mode and times; no uid/gid/owner (nothing of the host's accounts shows)."""
    is_dir = stat.S_ISDIR(st.st_mode)
    return asyncssh.SFTPAttrs(
        type=asyncssh.FILEXFER_TYPE_DIRECTORY if is_dir else asyncssh.FILEXFER_TYPE_REGULAR,
        size=st.st_size,
        permissions=(stat.S_IFDIR | 0o555) if is_dir else (stat.S_IFREG | 0o444),
        atime=int(st.st_atime),
        mtime=int(st.st_mtime),
    )


class ProductionTreeSFTPServer(asyncssh.SFTPServer):
    """One SFTP session over `<production_root>`, shown to the client as `/production`."""

    def __init__(self, chan: asyncssh.SSHServerChannel[bytes], production_root: Path) -> None:
        super().__init__(chan)  # no asyncssh chroot: the mapping below is ours (module docstring)
        self._root = production_root

    # ---- path mapping -------------------------------------------------------------------------------

    def _resolve(self, path: bytes) -> Path | None:
        """The real local path behind a client path; None for the virtual `/`. Raises if not allowed."""
        if b"\x00" in path:
            raise _not_found()
        parts = [p for p in posixpath.normpath(posixpath.join(b"/", path)).split(b"/") if p]
        if not parts:
            return None
        if parts[0] != _PRODUCTION_B or any(p.startswith(b".") for p in parts):
            raise _not_found()
        local = self._root.joinpath(*(os.fsdecode(p) for p in parts[1:]))
        return self._confine(local)

    def _confine(self, local: Path) -> Path:
        real = Path(os.path.realpath(local))
        if not real.is_relative_to(self._root):
            raise _not_found()
        if any(part.startswith(".") for part in real.relative_to(self._root).parts):
            raise _not_found()
        return real

    def _client_path(self, real: Path) -> bytes:
        rel = real.relative_to(self._root)
        tail = b"/" + os.fsencode(rel.as_posix()) if rel.parts else b""
        return b"/" + _PRODUCTION_B + tail

    def _stat_served(self, real: Path) -> os.stat_result:
        """stat of a confined path, refusing what is not a plain file or directory (FIFO, device...)."""
        try:
            st = os.stat(real)
        except OSError:
            raise _not_found() from None
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
            raise _not_found()
        return st

    def _root_attrs(self) -> asyncssh.SFTPAttrs:
        return _read_only_attrs(self._stat_served(self._root))

    def _attrs(self, path: bytes) -> asyncssh.SFTPAttrs:
        real = self._resolve(path)
        return self._root_attrs() if real is None else _read_only_attrs(self._stat_served(real))

    # ---- reads --------------------------------------------------------------------------------------

    def realpath(self, path: bytes) -> bytes:
        real = self._resolve(path)
        return b"/" if real is None else self._client_path(real)

    def stat(self, path: bytes) -> asyncssh.SFTPAttrs:
        return self._attrs(path)

    def lstat(self, path: bytes) -> asyncssh.SFTPAttrs:
        # Links inside the tree are shown as what they point to; links out are "no such file".
        return self._attrs(path)

    def fstat(self, file_obj: object) -> asyncssh.SFTPAttrs:
        if not isinstance(file_obj, io.FileIO):  # _open_for_read hands out nothing else
            raise asyncssh.SFTPFailure("Invalid file handle")
        return _read_only_attrs(os.fstat(file_obj.fileno()))

    def readlink(self, path: bytes) -> bytes:
        if b"\x00" in path:
            raise _not_found()
        normalised = posixpath.normpath(posixpath.join(b"/", path))
        parent = self._resolve(posixpath.dirname(normalised))
        name = os.fsdecode(posixpath.basename(normalised))
        if parent is None or not name or name.startswith("."):
            raise asyncssh.SFTPFailure("Not a link")
        link = parent / name
        if not link.is_symlink():
            raise asyncssh.SFTPFailure("Not a link")
        real = self._confine(link)
        self._stat_served(real)
        return self._client_path(real)

    async def scandir(self, path: bytes) -> AsyncIterator[asyncssh.SFTPName]:
        real = self._resolve(path)
        if real is None:
            root = self._root_attrs()
            for name in (b".", b"..", _PRODUCTION_B):
                yield asyncssh.SFTPName(name, attrs=root)
            return
        if not stat.S_ISDIR(self._stat_served(real).st_mode):
            raise asyncssh.SFTPFailure("Not a directory")
        yield asyncssh.SFTPName(b".", attrs=self._attrs(path))
        yield asyncssh.SFTPName(b"..", attrs=self._attrs(posixpath.join(path, b"..")))
        # A month can hold thousands of documents: list and vet them off the event loop.
        for entry in await asyncio.to_thread(self._served_entries, real):
            yield entry

    def _served_entries(self, directory: Path) -> list[asyncssh.SFTPName]:
        names: list[asyncssh.SFTPName] = []
        with os.scandir(directory) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.name.startswith("."):
                    continue
                try:
                    st = self._stat_served(self._confine(Path(entry.path)))
                except asyncssh.SFTPError:
                    continue  # a link out of the tree, a dot-target, a FIFO...: not listed at all
                names.append(asyncssh.SFTPName(os.fsencode(entry.name), attrs=_read_only_attrs(st)))
        return names

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        if pflags & _V3_WRITE_FLAGS:
            raise asyncssh.SFTPPermissionDenied(_READ_ONLY)
        return self._open_for_read(path)

    def open56(self, path: bytes, desired_access: int, flags: int, attrs: asyncssh.SFTPAttrs) -> object:
        writes = desired_access & _V56_WRITE_ACCESS or flags & asyncssh.FXF_APPEND_DATA
        if writes or flags & asyncssh.FXF_ACCESS_DISPOSITION != asyncssh.FXF_OPEN_EXISTING:
            raise asyncssh.SFTPPermissionDenied(_READ_ONLY)
        return self._open_for_read(path)

    def _open_for_read(self, path: bytes) -> object:
        real = self._resolve(path)
        if real is None or stat.S_ISDIR(self._stat_served(real).st_mode):
            raise asyncssh.SFTPFailure("Not a regular file")
        try:
            fd = os.open(real, _OPEN_FLAGS)
        except OSError:
            raise _not_found() from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped since the check above
            os.close(fd)
            raise _not_found()
        return os.fdopen(fd, "rb", buffering=0)

    # ---- every change is refused --------------------------------------------------------------------

    def write(self, file_obj: object, offset: int, data: bytes) -> int:
        raise asyncssh.SFTPPermissionDenied(_READ_ONLY)

    def remove(self, path: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied(_READ_ONLY)

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied(_READ_ONLY)

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied(_READ_ONLY)

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        raise asyncssh.SFTPPermissionDenied(_READ_ONLY)

    def rmdir(self, path: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied(_READ_ONLY)

    def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        raise asyncssh.SFTPPermissionDenied(_READ_ONLY)

    def lsetstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        raise asyncssh.SFTPPermissionDenied(_READ_ONLY)

    def fsetstat(self, file_obj: object, attrs: asyncssh.SFTPAttrs) -> None:
        raise asyncssh.SFTPPermissionDenied(_READ_ONLY)

    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied(_READ_ONLY)

    def link(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPPermissionDenied(_READ_ONLY)

    # statvfs would describe the host's filesystem: not part of the tree.
    def statvfs(self, path: bytes) -> asyncssh.SFTPVFSAttrs:
        raise asyncssh.SFTPOpUnsupported("statvfs not supported")

    def fstatvfs(self, file_obj: object) -> asyncssh.SFTPVFSAttrs:
        raise asyncssh.SFTPOpUnsupported("statvfs not supported")


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
            task = asyncio.get_running_loop().create_task(self._audit(username, method, "success"))
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
            await self._audit(username, method, "refused", refusal)
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
            await self._audit(username, "password", "failed", "wrong password, unknown or revoked user")
            await asyncio.sleep(self._failure_delay_s)
            return False
        if record is not None and record.password_expired:
            await self._audit(username, "password", "refused", "password expired")
            return False
        self._user_and_method = (username, "password")
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if await self._locked(username, "publickey"):
            return False
        record = await self._record(username)
        if record is None:
            await self._audit(username, "publickey", "refused", "unknown or revoked user")
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
        await self._audit(username, "publickey", "refused", "key not authorised")
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
