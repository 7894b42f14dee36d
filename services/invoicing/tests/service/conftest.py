"""The invoicing service in-process on a fresh SQLite database, through its real HTTP app.

Kafka is not needed here: the runtime keeps trying to connect in the background, and events stay in
the outbox table, where a test reads what would be published. Cross-service behaviour is proven in
tests/ against the real broker.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ledgerline_invoicing.adapters.orm import messaging
from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.entrypoints.app import create_app
from ledgerline_shared.auth import mint_token

SECRET = "test-secret-0123456789abcdef0123456789"


class InvoicingClient:
    def __init__(self, http: httpx.AsyncClient, app: Any, settings: InvoicingSettings) -> None:
        self.http = http
        self.app = app
        self.settings = settings

    def token(self, *roles: str, sub: str = "alice") -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(self.settings, sub=sub, roles=roles)}"}

    async def outbox(self, topic: str | None = None) -> list[dict[str, Any]]:
        runtime = self.app.state.runtime
        table = messaging.outbox
        query = select(table).order_by(table.c.id)
        if topic:
            query = query.where(table.c.topic == topic)
        async with runtime.sessions() as session:
            rows = (await session.execute(query)).mappings().all()
        return [{"topic": r["topic"], "key": r["key"], "data": json.loads(r["payload"])} for r in rows]


@pytest.fixture
async def invoicing(tmp_path: Path) -> AsyncIterator[InvoicingClient]:
    settings = InvoicingSettings(
        data_dir=tmp_path,
        jwt_secret=SECRET,
        kafka_bootstrap_servers="127.0.0.1:1",  # nothing listens: events stay in the outbox
        billing_workers=2,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://invoicing") as http:
            yield InvoicingClient(http, app, settings)


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for one test, on the server deploy/test.sh started.

    LEDGERLINE_TEST_PG (e.g. postgresql://postgres@127.0.0.1:15432) names the server. Without it the
    test is skipped on a developer's machine, but fails under CI, where it must always run.
    """
    import os
    import uuid

    import asyncpg

    server = os.environ.get("LEDGERLINE_TEST_PG")
    if not server:
        if os.environ.get("CI"):
            pytest.fail("LEDGERLINE_TEST_PG is not set: make test starts PostgreSQL and sets it")
        pytest.skip("needs PostgreSQL: run through make test (or set LEDGERLINE_TEST_PG)")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(f"{server}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def invoicing_pg(tmp_path: Path, postgres_url: str) -> AsyncIterator[InvoicingClient]:
    """The same service on PostgreSQL (numbering and concurrency tests)."""
    settings = InvoicingSettings(
        data_dir=tmp_path,
        jwt_secret=SECRET,
        kafka_bootstrap_servers="127.0.0.1:1",
        invoicing_database_url=postgres_url,
        billing_workers=4,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://invoicing") as http:
            yield InvoicingClient(http, app, settings)
