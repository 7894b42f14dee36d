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
from ledgerline_shared.testing import fresh_postgres_database

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
    """A fresh PostgreSQL database for one test, on the server deploy/test.sh started."""
    async with fresh_postgres_database() as url:
        yield url


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
