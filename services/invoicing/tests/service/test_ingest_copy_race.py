"""PostgreSQL ingestion COPYs a batch straight into call_records; a record stored meanwhile by another
transaction must still count as a duplicate, never fail the batch nor be stored twice."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from invoicing_api_setup import call, operator
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.orm import CallRecordRow
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_invoicing.service.usage import RatingContext, ingest
from ledgerline_shared.contracts.events import CallRecord


def joined(invoicing: Any, session: AsyncSession) -> InvoicingUnitOfWork:
    """A unit of work inside the test's own transaction (the caller commits or rolls back)."""
    return InvoicingUnitOfWork.joining(session, invoicing.app.state.runtime.event_sink, [])


def records(*cdr_ids: str) -> list[CallRecord]:
    return [CallRecord.model_validate(call(c, "ACME1", "33612345678")) for c in cdr_ids]


@pytest.mark.timeout(120)
async def test_postgres_a_record_stored_by_a_concurrent_batch_is_a_duplicate(invoicing_pg):
    await operator(invoicing_pg)
    sessions = invoicing_pg.app.state.runtime.sessions
    async with sessions() as session, session.begin():
        assert (await ingest(joined(invoicing_pg, session), records("stored"), RatingContext())).accepted == 1

    async with sessions() as first:
        await first.begin()
        # The first transaction stores "raced" and keeps it uncommitted.
        assert (await ingest(joined(invoicing_pg, first), records("raced"), RatingContext())).accepted == 1

        async def second() -> tuple[int, int, object]:
            async with sessions() as session, session.begin():
                result = await ingest(
                    joined(invoicing_pg, session), records("stored", "raced"), RatingContext()
                )
                staging = await session.scalar(text("SELECT to_regclass('pg_temp.call_records_incoming')"))
                return result.accepted, result.duplicates, staging

        # "stored" stops its first COPY; the look-up cannot see "raced" yet; the second COPY waits
        # for the first transaction on "raced", then fails when it commits: the batch takes the
        # race-proof way (a staging table and INSERT ... ON CONFLICT DO NOTHING).
        task = asyncio.create_task(second())
        await asyncio.sleep(0.5)
        assert not task.done()
        await first.commit()
        accepted, duplicates, staging = await asyncio.wait_for(task, 30)

    assert (accepted, duplicates) == (0, 2)
    assert staging is not None
    async with sessions() as session:
        count = await session.scalar(select(func.count()).select_from(CallRecordRow))
    assert count == 2


async def test_postgres_a_batch_of_known_clients_is_stored_in_the_callers_transaction(invoicing_pg):
    """A second batch with the same context needs no look-up: its COPY still runs in the
    caller's transaction, and goes with its rollback."""
    await operator(invoicing_pg)
    sessions = invoicing_pg.app.state.runtime.sessions
    ctx = RatingContext()
    async with sessions() as session, session.begin():
        assert (await ingest(joined(invoicing_pg, session), records("one"), ctx)).accepted == 1
    async with sessions() as session, session.begin():
        assert (await ingest(joined(invoicing_pg, session), records("two"), ctx)).accepted == 1
    async with sessions() as session:
        await session.begin()
        assert (await ingest(joined(invoicing_pg, session), records("three"), ctx)).accepted == 1
        await session.rollback()
    async with sessions() as session:
        stored = (await session.scalars(select(CallRecordRow.cdr_id).order_by(CallRecordRow.cdr_id))).all()
    assert stored == ["one", "two"]
