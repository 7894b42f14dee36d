"""The rendering repository: each document's latest rendering and its recorded versions.

The only place that reads and writes `rendered_documents` and `document_versions` (the version
lock that comes first is adapters/document_lock).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_rendering.adapters.orm import DocumentVersionRow, RenderedDocumentRow
from ledgerline_rendering.domain.production_tree import UnpublishedVersion
from ledgerline_rendering.domain.versions import (
    DocumentHistory,
    DocumentVersion,
    VersionFiles,
    owner_of,
    version_reason,
)
from ledgerline_shared.contracts.document import Document


class RenderedDocumentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def is_rendered(self, key: str) -> bool:
        """Has the document at least one recorded version?"""
        row = await self._session.get(RenderedDocumentRow, key)
        return row is not None and row.generation_count > 0

    async def request_served(self, key: str, request_id: str) -> bool:
        """Has this regeneration request already recorded its version?"""
        found = await self._session.scalar(
            select(DocumentVersionRow.version).where(
                DocumentVersionRow.key == key, DocumentVersionRow.request_id == request_id
            )
        )
        return found is not None

    async def add_version(
        self, document: Document, version: int, files: VersionFiles, *, reason: str, request_id: str | None
    ) -> None:
        """Record `version` of the document locked in this transaction, and its latest content."""
        row = await self._session.get(RenderedDocumentRow, document.key)  # the locked row, in memory
        if row is None:
            raise LookupError(f"document {document.key} is not locked in this transaction")
        row.generation_count = version
        row.document = document.model_dump_json()
        self._session.add(
            DocumentVersionRow(
                key=document.key,
                version=version,
                rendered_at=dt.datetime.now(dt.UTC),
                reason=version_reason(reason),
                request_id=request_id,
                files=files.as_record(),
            )
        )
        await self._session.flush()

    async def history(self, key: str) -> DocumentHistory | None:
        """The document and its versions, oldest first; None if rendering never saw it."""
        row = await self._session.get(RenderedDocumentRow, key)
        if row is None:
            return None
        versions = (
            await self._session.scalars(
                select(DocumentVersionRow)
                .where(DocumentVersionRow.key == key)
                .order_by(DocumentVersionRow.version)
            )
        ).all()
        return DocumentHistory(
            key=row.key,
            number=row.number,
            type=row.type,
            generation_count=row.generation_count,
            client_id=owner_of(row.client_id, row.document),
            versions=[DocumentVersion(v.version, v.rendered_at, v.reason, v.files) for v in versions],
        )

    async def unpublished(self, rendered_before: dt.datetime, limit: int) -> list[UnpublishedVersion]:
        """Versions recorded before `rendered_before` whose production copy is not known to be there,
        oldest first, with their document's count of versions."""
        rows = await self._session.execute(
            select(
                DocumentVersionRow.key,
                DocumentVersionRow.version,
                DocumentVersionRow.files,
                RenderedDocumentRow.number,
                RenderedDocumentRow.issue_date,
                RenderedDocumentRow.generation_count,
            )
            .join(RenderedDocumentRow, RenderedDocumentRow.key == DocumentVersionRow.key)
            .where(
                DocumentVersionRow.published_at.is_(None), DocumentVersionRow.rendered_at < rendered_before
            )
            .order_by(DocumentVersionRow.rendered_at)
            .limit(limit)
        )
        return [
            UnpublishedVersion(r.key, r.number or r.key, r.issue_date, r.version, r.generation_count, r.files)
            for r in rows
        ]

    async def mark_published(self, versions: Sequence[tuple[str, int]], at: dt.datetime) -> None:
        """Record that these (key, version) have their production copy (or need none: superseded)."""
        for start in range(0, len(versions), 500):
            chunk = list(versions[start : start + 500])
            await self._session.execute(
                update(DocumentVersionRow)
                .where(tuple_(DocumentVersionRow.key, DocumentVersionRow.version).in_(chunk))
                .values(published_at=at)
            )
