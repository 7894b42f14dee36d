"""Rendering use cases: the first version of a document, a regeneration, and reading versions back.

The PDF is made before the transaction (it takes a while and needs no lock); the transaction then
takes the next version number under the document's row lock (created first if the number has none,
adapters/document_lock), writes the version's files, records the version and queues
`document.rendered`. A committed version's files are never written again: only the lock holder
writes the next version. The `production/` copies are written after the commit, so the SFTP tree
never shows a version that was rolled back (a copy left unwritten by a process killed just after its
commit is finished by service/production_copies.py). The generation counter is the number of versions.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledgerline_rendering.adapters.document_files import DocumentFileWriter, StoredDocument
from ledgerline_rendering.adapters.render_pool import RenderedDocument
from ledgerline_rendering.domain.versions import (
    DocumentHistory,
    VersionFiles,
    next_version,
    records_first_version,
    rendered_event,
)
from ledgerline_rendering.service.unit_of_work import RenderingUnitOfWork
from ledgerline_shared.contracts.document import Document, DocumentType
from ledgerline_shared.contracts.events import DocumentRendered, FileRef
from ledgerline_shared.observability import metrics
from ledgerline_shared.topics import DOCUMENT_RENDERED


@dataclass(frozen=True)
class RecordVersion:
    """A rendered document to record: why (issued, created, preview, or the request's reason), and
    the regeneration request it answers (None for a first rendering)."""

    rendered: RenderedDocument
    reason: str
    request_id: str | None = None


async def needs_first_rendering(uow: RenderingUnitOfWork, document: Document) -> bool:
    """Before rendering: a document already rendered (the same event re-sent) is not rendered again."""
    async with uow:
        return not await uow.documents.is_rendered(document.key)


async def needs_regeneration(uow: RenderingUnitOfWork, key: str, request_id: str) -> bool:
    """Before rendering: a request already served is not rendered again."""
    async with uow:
        return not await uow.documents.request_served(key, request_id)


async def record_first_version(
    uow: RenderingUnitOfWork, writer: DocumentFileWriter, cmd: RecordVersion
) -> DocumentRendered | None:
    """Version 1 of an issued or created document (or a preview); nothing if it has one already."""
    async with uow:
        document = cmd.rendered.document
        if await uow.documents.is_rendered(document.key):
            return None  # checked before the lock too: a re-sent event takes no lock at all
        recorded = await uow.locks.lock(document)
        if not records_first_version(recorded):
            return None
        event = await _record(uow, writer, cmd, next_version(recorded))
        await uow.commit()
    return event


async def record_regeneration(
    uow: RenderingUnitOfWork, writer: DocumentFileWriter, cmd: RecordVersion
) -> DocumentRendered | None:
    """The next version, once per request id (a request redelivered records nothing)."""
    if cmd.request_id is None:
        raise ValueError("a regeneration answers a request id")
    async with uow:
        document = cmd.rendered.document
        if await uow.documents.request_served(document.key, cmd.request_id):
            return None
        recorded = await uow.locks.lock(document)
        if await uow.documents.request_served(document.key, cmd.request_id):
            return None  # served by the transaction that held the lock before us
        event = await _record(uow, writer, cmd, next_version(recorded))
        await uow.commit()
    return event


async def _record(
    uow: RenderingUnitOfWork, writer: DocumentFileWriter, cmd: RecordVersion, version: int
) -> DocumentRendered:
    """Under the document's lock: write the version's files, record it, queue `document.rendered`."""
    rendered = cmd.rendered
    document = rendered.document
    if document.type is DocumentType.PREVIEW:
        stored = writer.write_preview(rendered)
    else:
        # `version` is one past the versions recorded, under the document's lock: files already
        # there belong to an attempt that never committed, and are replaced.
        stored = writer.write_version(rendered, version, replace_unrecorded=True)
        uow.after_commit(lambda: _publish(writer, rendered))
    kind = "first" if version == 1 else "regeneration"
    uow.after_commit(lambda: metrics.DOCUMENTS_RENDERED.labels(document.type.value, kind).inc())
    files = _files(stored)
    await uow.documents.add_version(document, version, files, reason=cmd.reason, request_id=cmd.request_id)
    event = rendered_event(document, version, files, cmd.reason)
    uow.emit(DOCUMENT_RENDERED, document.key, event)
    return event


def _files(stored: StoredDocument) -> VersionFiles:
    return VersionFiles(
        {k: FileRef(path=f.path, sha256=f.sha256, size=f.size) for k, f in stored.files.items()}
    )


def _publish(writer: DocumentFileWriter, rendered: RenderedDocument) -> None:
    writer.publish_production(rendered)


async def document_history(uow: RenderingUnitOfWork, key: str) -> DocumentHistory | None:
    """A document and its versions (read-only), for the API."""
    async with uow:
        return await uow.documents.history(key)
