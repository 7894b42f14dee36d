"""The SFTP tree: the document store's `production/` folder, read-only, as one asyncssh SFTP session.

What a user sees: `/` holds only `production`; below it `/production/<YYYY-MM>/invoices-pdf|invoices-json|
invoices-xml/<file>`, which maps to `<store_root>/production/...`. Nothing else of the machine is reachable.

Why asyncssh's own `chroot` is not used: it maps paths lexically and then follows any symlink met on the
disk, even one leading out of the tree (its docstring says so). Here every client path is normalised
against `/` (`..` stops at the root), mapped under `<store_root>/production`, then `os.path.realpath`'d;
whatever resolves outside that folder is answered "no such file", as are dot-files (the store writes
`.tmp-*` files before its atomic rename) and anything that is neither a regular file nor a directory.
Every mutating request is refused with "permission denied". Attributes carry no owner, group or write bit.
"""

from __future__ import annotations

import asyncio
import io
import os
import posixpath
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh

PRODUCTION = "production"
_PRODUCTION_B = PRODUCTION.encode()
_READ_ONLY = "The SFTP tree is read-only"

_V3_WRITE_FLAGS = (
    asyncssh.FXF_WRITE | asyncssh.FXF_APPEND | asyncssh.FXF_CREAT | asyncssh.FXF_TRUNC | asyncssh.FXF_EXCL
)
_V56_WRITE_ACCESS = asyncssh.ACE4_WRITE_DATA | asyncssh.ACE4_APPEND_DATA | asyncssh.ACE4_WRITE_ATTRIBUTES
# O_NOFOLLOW: the path handed to open() is already resolved, so a link appearing there now is a race;
# O_NONBLOCK: a FIFO planted in the store must not hang the server before the S_ISREG check refuses it.
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


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
