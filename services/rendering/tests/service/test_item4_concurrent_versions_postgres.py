"""Issue 11 item 4: on PostgreSQL, two events at once for a number that has no version yet never
overwrite a committed version's files, and production/ holds the latest committed version."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from rendering_factory import make_buyer, make_document
from sqlalchemy import select

from ledgerline_rendering.adapters.orm import DocumentVersionRow
from ledgerline_rendering.config import RenderingSettings
from ledgerline_rendering.entrypoints.app import create_app
from ledgerline_shared.contracts.document import Address
from ledgerline_shared.contracts.events import RenderRequested
from ledgerline_shared.testing import deliver, fresh_postgres_database, record_for
from ledgerline_shared.topics import INVOICE_RENDER_REQUESTED

SECRET = "render-test-secret-0123456789abcdef012345"
ROUNDS = 4


@pytest.fixture
async def rendering_pg(tmp_path: Path) -> AsyncIterator[tuple[Any, RenderingSettings]]:
    async with fresh_postgres_database() as url:
        settings = RenderingSettings(
            data_dir=tmp_path,
            jwt_secret=SECRET,
            kafka_bootstrap_servers="127.0.0.1:1",
            render_workers=2,
            rendering_database_url=url,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            yield app, settings


@asynccontextmanager
async def _held(url: str, table: str) -> AsyncIterator[Callable[[int], Awaitable[None]]]:
    """Lock `table` from another connection; yields a wait for `n` transactions blocked on it;
    the lock is released on leaving."""
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    transaction = connection.transaction()
    await transaction.start()
    await connection.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")

    async def waiting(n: int) -> None:
        for _ in range(600):
            blocked = await connection.fetchval(
                "SELECT count(*) FROM pg_locks WHERE relation = $1::regclass AND NOT granted", table
            )
            if blocked >= n:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{n} transactions never waited on {table}")

    try:
        yield waiting
    finally:
        await transaction.commit()
        await connection.close()


async def test_item4_concurrent_events_never_overwrite_a_committed_version(rendering_pg: Any) -> None:
    app, settings = rendering_pg
    runtime = app.state.runtime
    store = settings.data_dir / "documents"
    for n in range(ROUNDS):
        number = f"F2026-0004{n:02d}"
        document = make_document(number=number)
        requests = [
            RenderRequested(
                request_id=str(uuid.uuid4()),
                reason=f"moved to {street}",
                document=document.model_copy(
                    update={
                        "buyer": make_buyer(
                            address=Address(line1=street, postcode="13001", city="Marseille", country="FR")
                        )
                    }
                ),
            )
            for street in (f"{n} rue Neuve", f"{n} avenue Large")
        ]
        # Two regenerations of a number that has no version yet, at once: each is a version. The
        # test holds the documents table until both are rendered and waiting on it, then lets them
        # race: their transactions overlap every time instead of by chance.
        async with _held(runtime.database_url, "rendered_documents") as waiting:
            both = asyncio.gather(
                *(deliver(runtime, record_for(INVOICE_RENDER_REQUESTED, r, key=number)) for r in requests)
            )
            await waiting(2)
        await both
        async with runtime.sessions() as session:
            versions = (
                await session.scalars(
                    select(DocumentVersionRow)
                    .where(DocumentVersionRow.key == number)
                    .order_by(DocumentVersionRow.version)
                )
            ).all()
        assert [v.version for v in versions] == [1, 2]
        # Every committed file is the one its row describes: no later attempt wrote over it.
        for version in versions:
            for kind, meta in version.files.items():
                on_disk = (store / str(meta["path"])).read_bytes()
                assert hashlib.sha256(on_disk).hexdigest() == meta["sha256"], (number, version.version, kind)
        latest_pdf = store / str(versions[-1].files["pdf"]["path"])
        production = store / "production" / "2026-02" / "invoices-pdf" / f"{number}.pdf"
        assert production.read_bytes() == latest_pdf.read_bytes()
