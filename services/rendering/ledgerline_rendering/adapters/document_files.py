"""Writes a rendered document into the document store (layout in ledgerline_shared.document_store).

- versions/<number>/v<N>/<number>.pdf|.xml|.json|.cii.xml: every version, never rewritten;
- production/<YYYY-MM>/invoices-pdf|invoices-xml|invoices-json/<number>.<ext>: a copy of the latest,
  YYYY-MM being the issue month (what the SFTP tree shows);
- previews/<period>/<document id>.pdf|.json.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ledgerline_rendering.adapters.render_pool import RenderedDocument
from ledgerline_rendering.domain.production_tree import ProductionCopy, production_path
from ledgerline_shared.contracts.document import Document, DocumentType
from ledgerline_shared.document_store import DocumentStore, sha256_hex

# A number becomes a file name: nothing that could add a folder or hide a file.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class UnsafeDocumentName(ValueError):
    """A document number that cannot be a file name in the store."""


class VersionExists(ValueError):
    """Versions are never rewritten: the caller's counter is behind the store."""


@dataclass(frozen=True)
class StoredFile:
    path: str  # relative to the store root, forward slashes
    sha256: str
    size: int


@dataclass(frozen=True)
class StoredDocument:
    """`files` keys are the event's: pdf, ubl, json, facturx (absent for previews: pdf, json only)."""

    version: int | None
    files: dict[str, StoredFile]


def _safe(name: str) -> str:
    if not _SAFE_NAME.fullmatch(name):
        raise UnsafeDocumentName(name)
    return name


class DocumentFileWriter:
    def __init__(self, store: DocumentStore) -> None:
        self.store = store

    def _put(self, rel: str, data: bytes) -> StoredFile:
        return StoredFile(rel, self.store.write(rel, data), len(data))

    def write_version(
        self, rendered: RenderedDocument, version: int, *, replace_unrecorded: bool = False
    ) -> StoredDocument:
        """Write version `version`. A version already on disk is refused, unless the caller knows from
        its records that it was never recorded (`replace_unrecorded`): files written by an attempt
        whose transaction then failed, which would otherwise block the document for ever."""
        document = rendered.document
        if document.type is DocumentType.PREVIEW or document.number is None:
            raise UnsafeDocumentName("a preview has no number: use write_preview")
        if version < 1:
            raise ValueError(f"version must be >= 1, got {version}")
        number = _safe(document.number)
        folder = f"versions/{number}/v{version}"
        if self.store.exists(f"{folder}/{number}.pdf") and not replace_unrecorded:
            raise VersionExists(f"{number} v{version}")
        outputs = {"pdf": (".pdf", rendered.pdf), "json": (".json", rendered.json)}
        if rendered.ubl is not None:
            outputs["ubl"] = (".xml", rendered.ubl)
        if rendered.cii is not None:
            outputs["facturx"] = (".cii.xml", rendered.cii)
        # The PDF last: its presence is what marks a version as complete (see the exists() check above).
        files = {
            key: self._put(f"{folder}/{number}{ext}", data)
            for key, (ext, data) in sorted(outputs.items(), key=lambda item: item[0] == "pdf")
        }
        return StoredDocument(version, files)

    def publish_production(self, rendered: RenderedDocument) -> dict[str, StoredFile]:
        """Copy a committed version to `production/`, the tree the SFTP server shows (each file
        replaced atomically). Called after the version's transaction commits."""
        document = rendered.document
        number = _safe(document.number or "")
        outputs = {"pdf": rendered.pdf, "ubl": rendered.ubl, "json": rendered.json}
        return {
            kind: self._put(production_path(number, document.issue_date, kind), data)
            for kind, data in outputs.items()
            if data is not None
        }

    def production_matches(self, copies: list[ProductionCopy]) -> bool:
        """Is every file of the tree there, with the version's content?"""
        return all(
            self.store.exists(copy.path) and sha256_hex(self.store.read(copy.path)) == copy.sha256
            for copy in copies
        )

    def copy_to_production(self, copies: list[ProductionCopy]) -> None:
        """Copy a recorded version's files into the tree (the caller holds the document's lock)."""
        for copy in copies:
            self.store.write(copy.path, self.store.read(copy.source))

    def write_preview(self, rendered: RenderedDocument) -> StoredDocument:
        document: Document = rendered.document
        period = document.period or document.issue_date.strftime("%Y-%m")
        name = str(document.id)  # a UUID: always a safe file name
        files = {
            "pdf": self._put(f"previews/{period}/{name}.pdf", rendered.pdf),
            "json": self._put(f"previews/{period}/{name}.json", rendered.json),
        }
        return StoredDocument(None, files)
