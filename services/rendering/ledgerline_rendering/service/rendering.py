"""Rendering use cases: the first version of a document, a regeneration, and reading versions back.

The PDF is made before the transaction (it takes a while and needs no lock); the transaction then
takes the next version number under the document's row lock, writes the files (versions are never
rewritten), records the version and queues `document.rendered`. The generation counter is the
number of versions.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_rendering.adapters.document_files import DocumentFileWriter, StoredDocument
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
) -> DocumentRendered:
    document = rendered.document
    key = document.key
    query = select(RenderedDocumentRow).where(RenderedDocumentRow.key == key)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = await session.scalar(query)
    if row is None:
        row = RenderedDocumentRow(
            key=key,
            number=document.number,
            type=document.type.value,
            client_id=document.buyer.client_id,
            issue_date=document.issue_date,
            generation_count=0,
            document=document.model_dump_json(),
        )
        session.add(row)
    version = row.generation_count + 1
    if document.type is DocumentType.PREVIEW:
        stored = writer.write_preview(rendered)
    else:
        # `version` is one past the versions recorded, under the document's lock: files already
        # there belong to an attempt that never committed, and are replaced.
        stored = writer.write_version(rendered, version, replace_unrecorded=True)
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
