"""make run's single process on SQLite: a run left by a killed process (its lease still live, held by
the dead process's instance id) is resumed at the next start at once, as before leases existed."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from invoicing_api_setup import operator, post
from sqlalchemy import update

from ledgerline_invoicing.adapters.orm import BillingRunRow
from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.entrypoints.app import create_app
from ledgerline_invoicing.service.billing_runs import create_run
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork

from .conftest import SECRET, InvoicingClient

pytestmark = pytest.mark.timeout(120)


@asynccontextmanager
async def started(settings: InvoicingSettings) -> AsyncIterator[InvoicingClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://invoicing") as http:
            yield InvoicingClient(http, app, settings)


async def test_a_run_left_by_a_killed_process_is_resumed_at_the_next_start(tmp_path: Path) -> None:
    settings = InvoicingSettings(data_dir=tmp_path, jwt_secret=SECRET, kafka_bootstrap_servers="127.0.0.1:1")
    async with started(settings) as first:
        for client in await operator(first, 3):
            await post(
                first,
                f"/api/v1/clients/{client['id']}/subscriptions",
                {"article_code": "LINE", "quantity": "1", "start_date": "2026-01-01"},
            )
        runtime = first.app.state.runtime
        async with InvoicingUnitOfWork(runtime.sessions, runtime.event_sink) as uow:
            run = await create_run(uow, "2026-05", "production", None, "alice")
            await uow.commit()
        async with runtime.sessions() as session, session.begin():  # as a kill -9 mid-run leaves it
            await session.execute(
                update(BillingRunRow)
                .where(BillingRunRow.id == run.id)
                .values(
                    status="running",
                    lease_owner="killed-host-4242",
                    lease_expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
                )
            )
    async with started(settings) as second:
        for _ in range(200):
            async with second.app.state.runtime.sessions() as session:
                row = await session.get(BillingRunRow, run.id)
                assert row is not None
                if row.status == "completed":
                    break
            await asyncio.sleep(0.05)
        assert row.status == "completed" and len(row.documents) == 3 and row.lease_owner is None
