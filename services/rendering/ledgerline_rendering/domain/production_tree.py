"""The SFTP tree's copy of a document: `production/<YYYY-MM>/invoices-pdf|xml|json/<number>.<ext>`,
YYYY-MM being the issue month, always the latest version's files.

A version's copy is written after its transaction commits (a rolled-back version never shows), so a
process killed in between leaves the tree without it; the version then stays unpublished until any
instance finishes the copy (service/production_copies.py). Only the latest version is copied: an older
one still unpublished is superseded, and copying it would put old files over the new ones.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# A version's file kind -> the tree's folder suffix and extension (the Factur-X CII stays in the PDF).
PRODUCTION_KINDS = {"pdf": "pdf", "ubl": "xml", "json": "json"}


def production_path(number: str, issue_date: dt.date, kind: str) -> str:
    """production_path("F2026-000001", date(2026, 11, 30), "ubl") ==
    "production/2026-11/invoices-xml/F2026-000001.xml"."""
    ext = PRODUCTION_KINDS[kind]
    return f"production/{issue_date:%Y-%m}/invoices-{ext}/{number}.{ext}"


@dataclass(frozen=True)
class ProductionCopy:
    """One file of the tree: where it goes, which version file it copies, and that file's hash."""

    path: str
    source: str
    sha256: str


@dataclass(frozen=True)
class UnpublishedVersion:
    """A recorded version whose copy in the tree is not known to be there."""

    key: str
    number: str
    issue_date: dt.date
    version: int
    latest: int  # the document's recorded versions when this was read
    files: dict[str, dict[str, object]]  # kind -> {path, sha256, size}, as recorded

    @property
    def superseded(self) -> bool:
        return self.version < self.latest

    def copies(self) -> list[ProductionCopy]:
        return [
            ProductionCopy(
                production_path(self.number, self.issue_date, kind), str(f["path"]), str(f["sha256"])
            )
            for kind, f in sorted(self.files.items())
            if kind in PRODUCTION_KINDS
        ]
