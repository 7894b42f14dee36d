"""Rendering's unit of work: one transaction over the documents, their version locks and the outbox."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_rendering.adapters.document_lock import DocumentLocks
from ledgerline_rendering.adapters.document_versions import RenderedDocumentRepository
from ledgerline_shared.unit_of_work import UnitOfWork


class RenderingUnitOfWork(UnitOfWork):
    documents: RenderedDocumentRepository
    locks: DocumentLocks

    def _open(self, session: AsyncSession) -> None:
        self.documents = RenderedDocumentRepository(session)
        self.locks = DocumentLocks(session)
