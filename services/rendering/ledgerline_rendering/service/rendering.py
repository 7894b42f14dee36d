"""Rendering use cases: the first version of a document, a regeneration, and reading versions back.

The PDF is made before the transaction (it takes a while and needs no lock); the transaction then
takes the next version number under the document's row lock (created first if the number has none,
adapters/document_lock), writes the version's files, records the version and queues
`document.rendered`. A committed version's files are never written again: only the lock holder
writes the next version. The `production/` copies are written after the commit, so the SFTP tree
never shows a version that was rolled back. The generation counter is the number of versions.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_rendering.adapters.document_files import DocumentFileWriter, StoredDocument
from ledgerline_rendering.adapters.document_lock import lock_rendered_document
from ledgerline_rendering.adapters.orm import DocumentVersionRow, RenderedDocumentRow
from ledgerline_rendering.adapters.render_pool import RenderedDocument
from ledgerline_shared.contracts.document import Document, DocumentType
from ledgerline_shared.contracts.events import DocumentRendered, FileRef, RenderedFiles
from ledgerline_shared.runtime import ServiceRuntime
from ledgerline_shared.topics import DOCUMENT_RENDERED


async def already_rendered(session: AsyncSession, document: Document) -> bool:
    row = await session.get(RenderedDocumentRow, document.key)
    return row is not None and row.generation_count > 0


async def request_seen(session: AsyncSession, key: str, request_id: str) -> bool:
    found = await session.scalar(
        select(DocumentVersionRow.version).where(
            DocumentVersionRow.key == key, DocumentVersionRow.request_id == request_id
        )
    )
    return found is not None


def _ref(stored: StoredDocument, kind: str) -> FileRef:
    f = stored.files[kind]
    return FileRef(path=f.path, sha256=f.sha256, size=f.size)


async def record_version(
    session: AsyncSession,
    runtime: ServiceRuntime,
    writer: DocumentFileWriter,
    rendered: RenderedDocument,
    *,
    reason: str,
    request_id: str | None,
    after_commit: list[Callable[[], None]],
    first_only: bool = False,
) -> DocumentRendered | None:
    """Record the next version of `rendered`, or nothing if, under the lock, it turns out to be
    done already (a first render with a version, a request already served). The production copies
    are left to `after_commit`."""
    document = rendered.document
    key = document.key
    row = await lock_rendered_document(session, document)
    if first_only and row.generation_count > 0:
        return None
    if request_id is not None and await request_seen(session, key, request_id):
        return None
    version = row.generation_count + 1
    if document.type is DocumentType.PREVIEW:
        stored = writer.write_preview(rendered)
    else:
        # `version` is one past the versions recorded, under the document's lock: files already
        # there belong to an attempt that never committed, and are replaced.
        stored = writer.write_version(rendered, version, replace_unrecorded=True)
        after_commit.append(lambda: _publish(writer, rendered))
    row.generation_count = version
    row.document = document.model_dump_json()
    session.add(
        DocumentVersionRow(
            key=key,
            version=version,
            rendered_at=dt.datetime.now(dt.UTC),
            reason=reason[:500],
            request_id=request_id,
            files={k: {"path": f.path, "sha256": f.sha256, "size": f.size} for k, f in stored.files.items()},
        )
    )
    await session.flush()
    files = RenderedFiles(
        pdf=_ref(stored, "pdf"),
        json_=_ref(stored, "json"),
        ubl=_ref(stored, "ubl") if "ubl" in stored.files else None,
        facturx=_ref(stored, "facturx") if "facturx" in stored.files else None,
    )
    event = DocumentRendered(
        number=document.number,
        document_id=document.id,
        type=document.type,
        version=version,
        generation_count=version,
        files=files,
        issue_date=document.issue_date,
        client_id=document.buyer.client_id,
        language=document.language,
        recipients=document.buyer.recipients,
        reason=reason,
    )
    await runtime.emit(session, DOCUMENT_RENDERED, key, event)
    return event


def _publish(writer: DocumentFileWriter, rendered: RenderedDocument) -> None:
    writer.publish_production(rendered)


async def versions_of(
    session: AsyncSession, key: str
) -> tuple[RenderedDocumentRow | None, list[DocumentVersionRow]]:
    row = await session.get(RenderedDocumentRow, key)
    versions = list(
        (
            await session.scalars(
                select(DocumentVersionRow)
                .where(DocumentVersionRow.key == key)
                .order_by(DocumentVersionRow.version)
            )
        ).all()
    )
    return row, versions


def client_of(row: RenderedDocumentRow) -> str | None:
    return row.client_id or json.loads(row.document).get("buyer", {}).get("client_id")
