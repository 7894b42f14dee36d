"""The document store: a folder tree under the data dir, behind an interface an object store can replace.

Layout (docs/decisions.md):
- `production/<YYYY-MM>/invoices-pdf|invoices-xml|invoices-json/<number>.<ext>`: the latest version of
  each issued document, the tree the SFTP server shows read-only;
- `versions/<number>/v<N>/<number>.pdf|.xml|.json|.cii.xml`: every version ever rendered, never rewritten;
- `previews/<period>/<document id>.<ext>`: previews (no legal number).
Paths handed around in events are relative to the store's root, with forward slashes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Protocol


class UnsafePath(ValueError):
    """A relative path that would leave the store (absolute, `..`, or a link out)."""


class DocumentStore(Protocol):
    def write(self, rel: str, data: bytes) -> str: ...  # returns the sha256
    def read(self, rel: str) -> bytes: ...
    def exists(self, rel: str) -> bool: ...
    def local_path(self, rel: str) -> Path: ...


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FolderDocumentStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def local_path(self, rel: str) -> Path:
        pure = PurePosixPath(rel)
        if pure.is_absolute() or ".." in pure.parts or not pure.parts:
            raise UnsafePath(rel)
        path = (self.root / pure).resolve()
        if not path.is_relative_to(self.root):
            raise UnsafePath(rel)
        return path

    def write(self, rel: str, data: bytes) -> str:
        """Atomic: readers see the old file or the new one, never half of one."""
        path = self.local_path(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha256_hex(data)

    def read(self, rel: str) -> bytes:
        return self.local_path(rel).read_bytes()

    def exists(self, rel: str) -> bool:
        return self.local_path(rel).is_file()


def companion_path(rel: str, extension: str) -> str:
    """The same version of a document in another format: `versions/F1/v2/F1.pdf` and `.json`
    give `versions/F1/v2/F1.json` (rendering writes every format of a version side by side)."""
    stem, dot, _ = rel.rpartition(".")
    return f"{stem if dot else rel}{extension}"


def store_root(data_dir: Path) -> Path:
    return data_dir / "documents"
