"""The documents notification knows from `document.rendered`: where each one's latest PDF is,
its type, language, client and recipients."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_notification.adapters.orm import KnownDocumentRow
from ledgerline_notification.domain.delivery import KnownDocument, recipients_of
from ledgerline_shared.contracts.document import DocumentType
from ledgerline_shared.contracts.events import DocumentRendered


class KnownDocumentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, number: str) -> KnownDocument | None:
        row = await self._session.get(KnownDocumentRow, number)
        if row is None:
            return None
        return KnownDocument(
            number=row.number,
            type=DocumentType(row.type),
            version=row.version,
            pdf_path=row.pdf_path,
            issue_date=row.issue_date,
            client_id=row.client_id,
        )

    async def remember(self, event: DocumentRendered, at: dt.datetime) -> None:
        """Keep what `event` says of its (numbered) document's newest version."""
        if event.number is None:
            raise ValueError("a preview has no number to remember it by")
        row = await self._session.get(KnownDocumentRow, event.number)
        if row is None:
            row = KnownDocumentRow(number=event.number)
            self._session.add(row)
        row.document_id = event.document_id
        row.type = event.type.value
        row.version = event.version
        row.pdf_path = event.files.pdf.path
        row.pdf_sha256 = event.files.pdf.sha256
        row.issue_date = event.issue_date
        row.language = event.language
        row.client_id = event.client_id
        row.recipients = recipients_of(event.recipients)
        row.updated_at = at
        await self._session.flush()
