"""Two instances of export on one PostgreSQL share the export jobs (issue 13): a job is claimed by
one instance under a lease, never run by two at once, and taken over when its holder dies.

Each "instance" is an ExportJobs with its own engine (its own connections, as another process would
have), its own instance id and a short lease, on the one shared document folder. The app's own jobs
are kept out of the way (a lease and heartbeat of an hour). Run through deploy/test.sh.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Self

import pytest

from ledgerline_export.adapters.orm import ExportJobRow
from ledgerline_export.domain.export_job import ExportJob
from ledgerline_export.service import document_feed
from ledgerline_export.service.export_jobs import ExportJobs
from ledgerline_export.service.unit_of_work import ExportUnitOfWork
from ledgerline_shared.db import make_engine, make_read_sessionmaker, make_sessionmaker
from ledgerline_shared.document_store import FolderDocumentStore
from ledgerline_shared.testing import fresh_postgres_database

from .conftest import ExportService, export_settings, running

pytestmark = pytest.mark.timeout(180)

INVOICES = 12


@pytest.fixture
async def export_pg(tmp_path: Path, make_doc: Any) -> AsyncIterator[ExportService]:
    """The service on PostgreSQL with January's invoices in its read model; its own jobs stay idle."""
    async with fresh_postgres_database() as url:
        settings = export_settings(tmp_path).model_copy(
            update={
                "export_database_url": url,
                "sftp_enabled": False,
                "job_lease_s": 7200.0,
                "job_heartbeat_s": 3600.0,
            }
        )
        async with running(settings) as service:
            for n in range(1, INVOICES + 1):
                await service.issue(make_doc(f"F2026-{n:06d}", issue_date=dt.date(2026, 1, n)))
            yield service


class Instance:
    """One instance's export jobs: its engine, its instance id, and how many writing units of work
    it made (a job it did not run costs it one: the claim it lost)."""

    def __init__(self, service: ExportService, name: str, *, slow_s: float = 0.0) -> None:
        self.engine = make_engine(service.runtime.database_url)
        sessions, reads = make_sessionmaker(self.engine), make_read_sessionmaker(self.engine)
        sink = service.runtime.event_sink
        self.writes = 0
        instance = self

        class Reading(ExportUnitOfWork):
            async def __aenter__(self) -> Self:
                if slow_s:
                    await asyncio.sleep(slow_s)  # a slow instance: a job is caught halfway
                return await super().__aenter__()

        def writing() -> ExportUnitOfWork:
            instance.writes += 1
            return ExportUnitOfWork(sessions, sink)

        settings = service.settings.model_copy(update={"job_lease_s": 2.0, "job_heartbeat_s": 0.4})
        store = FolderDocumentStore(settings.document_root())
        self.jobs = ExportJobs(
            writing, lambda: Reading(reads, sink, read_only=True), settings, store, instance_id=name
        )

    async def close(self) -> None:
        await self.jobs.stop(release_leases=False)
        await self.engine.dispose()


@pytest.fixture
async def instances(export_pg: ExportService) -> AsyncIterator[Callable[..., Instance]]:
    made: list[Instance] = []

    def make(name: str, **kwargs: Any) -> Instance:
        made.append(Instance(export_pg, name, **kwargs))
        return made[-1]

    yield make
    for instance in made:
        await instance.close()


async def queued_job(service: ExportService) -> str:
    """An Excel export of January asked for, e-mailed when done, started by nobody."""
    job = ExportJob.queued(
        str(uuid.uuid4()),
        kind="excel",
        format=None,
        date_from=dt.date(2026, 1, 1),
        date_to=dt.date(2026, 1, 31),
        notify=True,
        requested_by_sub="alice",
        requested_by_email="alice@operator.example",
        at=dt.datetime.now(dt.UTC),
    )
    async with ExportUnitOfWork(service.runtime.sessions, service.runtime.event_sink) as uow:
        await uow.jobs.add(job)
        await uow.commit()
    return job.id


async def job_row(service: ExportService, job_id: str) -> ExportJobRow:
    async with service.runtime.sessions() as session:
        row = await session.get(ExportJobRow, job_id)
        assert row is not None
        return row


async def wait_for(check: Callable[[], Any], what: str, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def completed(service: ExportService, job_id: str) -> Callable[[], Any]:
    async def check() -> bool:
        return (await job_row(service, job_id)).status == "completed"

    return check


async def test_a_job_resumed_by_two_instances_at_once_is_run_by_one(export_pg, instances) -> None:
    a, b = instances("instance-a"), instances("instance-b")
    job_id = await queued_job(export_pg)

    a.jobs.start(job_id)  # both at once: the claim decides
    b.jobs.start(job_id)
    await wait_for(completed(export_pg, job_id), "the job")
    await asyncio.sleep(0.5)  # a second run would have been claimed by now

    job = await job_row(export_pg, job_id)
    assert job.rows == INVOICES and job.lease_owner is None
    assert sorted([a.writes, b.writes])[0] == 1  # the other one lost the claim and ran nothing
    [announced] = await export_pg.outbox("export.completed")
    assert announced["data"]["export_id"] == job_id and announced["data"]["rows"] == INVOICES


async def test_a_second_instance_takes_over_a_job_whose_instance_died(
    export_pg, instances, monkeypatch
) -> None:
    monkeypatch.setattr(document_feed, "PAGE", 2)  # six pages
    a = instances("instance-a", slow_s=0.5)
    b = instances("instance-b")
    job_id = await queued_job(export_pg)

    await a.jobs.resume()

    async def halfway() -> bool:
        job = await job_row(export_pg, job_id)
        return job.status == "running" and 0 < job.done < INVOICES

    await wait_for(halfway, "instance A to be halfway through the job")
    await a.jobs.stop(release_leases=False)  # A dies: its task ends, its lease stays
    at_death = await job_row(export_pg, job_id)
    assert at_death.status == "running" and at_death.lease_owner == "instance-a"
    assert await export_pg.outbox("export.completed") == []

    # B looks for orphaned jobs every heartbeat; A's lease (2 s) expires, B runs the job again.
    watcher = asyncio.create_task(b.jobs.watch())
    try:
        await wait_for(completed(export_pg, job_id), "instance B to complete the job")
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)

    job = await job_row(export_pg, job_id)
    assert job.rows == INVOICES and job.done == INVOICES and job.lease_owner is None
    assert job.started_at is not None and job.started_at > at_death.started_at  # B ran it from the start
    [announced] = await export_pg.outbox("export.completed")  # announced once, by B
    assert announced["data"]["rows"] == INVOICES
    assert export_pg.store.local_path(job.path).stat().st_size > 0
