"""The lock on a document number that makes its versions immutable once committed.

Two events for a number with no version yet used to find no row to lock, and both wrote
`versions/<n>/v1`: the loser could overwrite the winner's committed files. The row is now created
first if missing (INSERT ... ON CONFLICT DO NOTHING waits for a concurrent inserter of the same key
to finish) and then locked (SELECT ... FOR UPDATE) until the transaction ends, so exactly one
transaction at a time picks and writes a document's next version. SQLite's BEGIN IMMEDIATE already
serialises writers.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_rendering.adapters.orm import RenderedDocumentRow
from ledgerline_shared.contracts.document import Document


class DocumentLocks:
    """The version lock of each document, on the unit of work's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lock(self, document: Document) -> int:
        """Lock `document` until commit; the number of versions recorded so far (0: none yet)."""
        row = await lock_rendered_document(self._session, document)
        return row.generation_count

    async def lock_recorded(self, key: str) -> int:
        """Lock a document that has versions already; the number of versions recorded."""
        query = select(RenderedDocumentRow.generation_count).where(RenderedDocumentRow.key == key)
        if self._session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        return int((await self._session.scalars(query)).one())


async def lock_rendered_document(session: AsyncSession, document: Document) -> RenderedDocumentRow:
    """The document's row (generation_count 0 if it has no version yet), locked until commit."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    insert = pg_insert if postgresql else sqlite_insert
    await session.execute(
        insert(RenderedDocumentRow)
        .values(
            key=document.key,
            number=document.number,
            type=document.type.value,
            client_id=document.buyer.client_id,
            issue_date=document.issue_date,
            generation_count=0,
            document=document.model_dump_json(),
        )
        .on_conflict_do_nothing(index_elements=[RenderedDocumentRow.key])
    )
    query = (
        select(RenderedDocumentRow)
        .where(RenderedDocumentRow.key == document.key)
        .execution_options(populate_existing=True)
    )
    if postgresql:
        query = query.with_for_update()
    return (await session.scalars(query)).one()
