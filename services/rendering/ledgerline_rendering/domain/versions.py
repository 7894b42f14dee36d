"""A document's versions: which rendering becomes a new version, its number, who may read it, and
what `document.rendered` says about it (spec section 6).

The generation counter is the number of recorded versions. A first rendering (an issued document,
a proforma, a preview) records version 1 only if the document has none yet; a regeneration records
the next version once per request id. Pure: the caller holds the document's lock and reads the
recorded count and requests under it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass

from ledgerline_shared.contracts.document import Document
from ledgerline_shared.contracts.events import DocumentRendered, FileRef, RenderedFiles

MAX_REASON_LENGTH = 500


@dataclass(frozen=True)
class VersionFiles:
    """One version's files, as stored: kind (pdf, json, ubl, facturx) -> where, hash and size."""

    files: Mapping[str, FileRef]

    def as_record(self) -> dict[str, dict[str, object]]:
        return {k: {"path": f.path, "sha256": f.sha256, "size": f.size} for k, f in self.files.items()}


@dataclass(frozen=True)
class DocumentVersion:
    version: int
    rendered_at: dt.datetime
    reason: str
    files: dict[str, dict[str, object]]  # kind -> {path, sha256, size}


@dataclass(frozen=True)
class DocumentHistory:
    """A document as rendering knows it: the latest rendering and every version, oldest first."""

    key: str
    number: str | None
    type: str
    generation_count: int
    client_id: str | None
    versions: list[DocumentVersion]

    def version(self, wanted: int | None) -> DocumentVersion | None:
        """`wanted`, or the latest when None."""
        if wanted is None:
            return self.versions[-1] if self.versions else None
        return next((v for v in self.versions if v.version == wanted), None)


def owner_of(client_id: str | None, document_json: str) -> str | None:
    """Whose document it is: the recorded client, else the buyer of the latest rendering."""
    owner: str | None = client_id or json.loads(document_json).get("buyer", {}).get("client_id")
    return owner


def records_first_version(recorded: int) -> bool:
    """A first rendering (issued, created, preview) is recorded only for a document with no version:
    the same event re-sent under a new id renders nothing new."""
    return recorded == 0


def next_version(recorded: int) -> int:
    """Versions are numbered from 1 with no gap: one past those recorded, under the document's lock."""
    return recorded + 1


def version_reason(reason: str) -> str:
    return reason[:MAX_REASON_LENGTH]


def rendered_event(document: Document, version: int, files: VersionFiles, reason: str) -> DocumentRendered:
    """`document.rendered` for a recorded version: where its files are and whom it goes to."""
    refs = files.files
    return DocumentRendered(
        number=document.number,
        document_id=document.id,
        type=document.type,
        version=version,
        generation_count=version,
        files=RenderedFiles(
            pdf=refs["pdf"], json_=refs["json"], ubl=refs.get("ubl"), facturx=refs.get("facturx")
        ),
        issue_date=document.issue_date,
        client_id=document.buyer.client_id,
        language=document.language,
        recipients=document.buyer.recipients,
        reason=reason,
    )
