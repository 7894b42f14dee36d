"""Two instances of invoicing on one PostgreSQL share the billing runs (issue 13): a run is claimed
by one instance under a lease, never run by two at once, and taken over when its holder dies.

Each "instance" is a BillingRunner with its own engine (its own connections, as another process
would have), its own instance id and a short lease. The app's own runner is kept out of the way (a
lease and heartbeat of an hour: its watcher does not wake during the test). Run through deploy/test.sh.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Self

import httpx
import pytest
from invoicing_api_setup import operator, post
from sqlalchemy import func, select

from ledgerline_invoicing.adapters.orm import BillingRunRow, DocumentRow, messaging
from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.entrypoints.app import create_app
from ledgerline_invoicing.service import billing_runs
from ledgerline_invoicing.service.billing_runs import BillingRunner, create_run
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_shared.db import make_engine, make_sessionmaker
from ledgerline_shared.runtime import ServiceRuntime

from .conftest import SECRET, InvoicingClient

pytestmark = pytest.mark.timeout(180)

PERIOD = "2026-05"


@pytest.fixture
async def invoicing_pg(tmp_path: Path, postgres_url: str) -> AsyncIterator[InvoicingClient]:
    """The service on PostgreSQL, for the setup and the checks; its own runner stays idle."""
    settings = InvoicingSettings(
        data_dir=tmp_path,
        jwt_secret=SECRET,
        kafka_bootstrap_servers="127.0.0.1:1",
        invoicing_database_url=postgres_url,
        job_lease_s=7200,
        job_heartbeat_s=3600,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://invoicing") as http:
            yield InvoicingClient(http, app, settings)


class Instance:
    """One instance of the runner: its engine, its instance id, and how many units of work it made
    (a run it did not execute costs it one: the claim it lost)."""

    def __init__(self, service: InvoicingClient, name: str, *, slow_s: float = 0.0) -> None:
        runtime: ServiceRuntime = service.app.state.runtime
        self.engine = make_engine(runtime.database_url)
        sessions = make_sessionmaker(self.engine)
        sink = runtime.event_sink
        self.units = 0

        instance = self

        class Unit(InvoicingUnitOfWork):
            async def __aenter__(self) -> Self:
                if slow_s:
                    await asyncio.sleep(slow_s)  # a slow instance: a run is caught halfway
                return await super().__aenter__()

        def new_uow() -> InvoicingUnitOfWork:
            instance.units += 1
            return Unit(sessions, sink)

        settings = service.settings.model_copy(
            update={"job_lease_s": 2.0, "job_heartbeat_s": 0.4, "billing_workers": 2}
        )
        self.runner = BillingRunner(new_uow, settings, instance_id=name)

    async def close(self) -> None:
        await self.runner.stop(release_leases=False)
        await self.engine.dispose()


@pytest.fixture
async def instances(invoicing_pg: InvoicingClient) -> AsyncIterator[Callable[..., Instance]]:
    made: list[Instance] = []

    def make(name: str, **kwargs: Any) -> Instance:
        made.append(Instance(invoicing_pg, name, **kwargs))
        return made[-1]

    yield make
    for instance in made:
        await instance.close()


async def billed_clients(service: InvoicingClient, count: int) -> list[str]:
    clients = await operator(service, count)
    for client in clients:
        await post(
            service,
            f"/api/v1/clients/{client['id']}/subscriptions",
            {"article_code": "LINE", "quantity": "1", "start_date": "2026-01-01"},
        )
    return [c["id"] for c in clients]


async def queued_run(service: InvoicingClient) -> str:
    """A production run recorded, started by nobody."""
    runtime = service.app.state.runtime
    async with InvoicingUnitOfWork(runtime.sessions, runtime.event_sink) as uow:
        run = await create_run(uow, PERIOD, "production", None, "alice")
        await uow.commit()
    return run.id


async def run_row(service: InvoicingClient, run_id: str) -> BillingRunRow:
    async with service.app.state.runtime.sessions() as session:
        row = await session.get(BillingRunRow, run_id)
        assert row is not None
        return row


async def invoices(service: InvoicingClient) -> list[tuple[str, str]]:
    async with service.app.state.runtime.sessions() as session:
        rows = await session.execute(
            select(DocumentRow.number, DocumentRow.client_id).where(
                DocumentRow.period == PERIOD, DocumentRow.type == "invoice"
            )
        )
        return [(n, c) for n, c in rows.all()]


async def issued_events(service: InvoicingClient) -> int:
    async with service.app.state.runtime.sessions() as session:
        table = messaging.outbox
        return int(await session.scalar(select(func.count()).where(table.c.topic == "invoice.issued")) or 0)


def numbers(count: int) -> list[str]:
    year = dt.date.today().year
    return [f"F{year}-{n:06d}" for n in range(1, count + 1)]


async def wait_for(check: Callable[[], Any], what: str, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_a_run_started_by_two_instances_at_once_is_run_by_one(invoicing_pg, instances) -> None:
    make = instances
    clients = await billed_clients(invoicing_pg, 12)
    a, b = make("instance-a"), make("instance-b")
    run_id = await queued_run(invoicing_pg)

    await asyncio.gather(a.runner.execute(run_id), b.runner.execute(run_id))

    run = await run_row(invoicing_pg, run_id)
    assert run.status == "completed" and run.lease_owner is None
    # One instance claimed and ran it (its chunks, progress and outcome); the other only tried the claim.
    assert sorted([a.units, b.units])[0] == 1 and sorted([a.units, b.units])[1] > 3
    issued = await invoices(invoicing_pg)
    assert sorted(n for n, _ in issued) == numbers(12)
    assert sorted(c for _, c in issued) == sorted(clients)  # every client billed once
    assert sorted(run.documents) == numbers(12)
    assert await issued_events(invoicing_pg) == 12

    # The claim itself: of two at the same moment, exactly one wins; a finished run is nobody's.
    second = await queued_run(invoicing_pg)
    assert sorted(await asyncio.gather(a.runner.claim(second), b.runner.claim(second))) == [False, True]
    assert not await a.runner.claim(run_id) and not await b.runner.claim(run_id)


async def test_a_second_instance_takes_over_a_run_whose_instance_died(
    invoicing_pg, instances, monkeypatch
) -> None:
    make = instances
    monkeypatch.setattr(billing_runs, "CLIENTS_PER_CHUNK", 4)  # 10 chunks
    clients = await billed_clients(invoicing_pg, 40)
    a = make("instance-a", slow_s=0.15)
    b = make("instance-b")
    run_id = await queued_run(invoicing_pg)

    a.runner.start(run_id)

    async def halfway() -> bool:
        return (await run_row(invoicing_pg, run_id)).done >= 8

    await wait_for(halfway, "instance A to bill a few chunks")
    await a.runner.stop(release_leases=False)  # A dies: its task ends, its lease stays
    at_death = await run_row(invoicing_pg, run_id)
    billed_by_a = await invoices(invoicing_pg)
    assert at_death.status == "running" and at_death.lease_owner == "instance-a"
    assert 8 <= len(billed_by_a) < 40

    # B looks for orphaned runs every heartbeat; A's lease (2 s) expires, B takes the run over.
    watcher = asyncio.create_task(b.runner.watch())
    try:

        async def completed() -> bool:
            return (await run_row(invoicing_pg, run_id)).status == "completed"

        await wait_for(completed, "instance B to complete the run")
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)

    run = await run_row(invoicing_pg, run_id)
    issued = await invoices(invoicing_pg)
    assert sorted(n for n, _ in issued) == numbers(40)  # every invoice numbered once, no gap
    assert sorted(c for _, c in issued) == sorted(clients)  # no client billed twice
    assert set(billed_by_a) <= set(issued)  # A's committed chunks were kept, not redone
    assert sorted(run.documents) == numbers(40)  # B counts A's invoices as the run's own
    assert run.report["skipped"] == [] and run.errors == []
    assert run.lease_owner is None and run.done == 40
    assert await issued_events(invoicing_pg) == 40  # one invoice.issued per invoice
