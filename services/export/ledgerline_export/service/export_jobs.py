"""Export jobs (spec 8, `POST /api/v1/exports`): checked, recorded, run as asyncio tasks in the process.

A job is a row first (queued), so a restart finds it again. Several instances of the service share
the jobs (issue 13): an instance runs a job only once it has claimed it (a lease on its row,
shared/ledgerline_shared/lease.py), renews the lease with its progress, and writes the outcome only
while it still holds it. Every instance looks for jobs nobody holds (never started, or left by an
instance that died: its lease expired) at start and every heartbeat, and runs them from the start.

The slow part runs in a worker thread (service/export_files.py); the task keeps the job's progress up
to date meanwhile. On completion `export.completed` is queued in the same
transaction that marks the job completed: always for accounting exports (the guide's report "sent to
you by email"), for the others when the requester asked for it (`notify`). A failed job records its
error and sends nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path

import structlog

from ledgerline_export.config import ExportSettings
from ledgerline_export.domain.document_selection import Selection, selection_of
from ledgerline_export.domain.export_job import COMPLETED, RUNNING, ExportJob
from ledgerline_export.service.document_feed import FeedCancelled, Progress
from ledgerline_export.service.errors import Conflict, NotFound
from ledgerline_export.service.export_files import ExportFileWriter, Produced
from ledgerline_export.service.export_requests import ExportRequest, check_request
from ledgerline_export.service.unit_of_work import ExportUnitOfWork, NewUnitOfWork
from ledgerline_shared import job_lease
from ledgerline_shared.contracts.events import ExportCompleted
from ledgerline_shared.contracts.export_receipt import ExportReceipt, write_receipt
from ledgerline_shared.document_store import FolderDocumentStore
from ledgerline_shared.lease import lease_until
from ledgerline_shared.observability import metrics
from ledgerline_shared.topics import EXPORT_COMPLETED

log = structlog.get_logger(__name__)


def _count_export(uow: ExportUnitOfWork, kind: str, outcome: str) -> None:
    """`ledgerline_exports_total`, once the job's outcome committed."""
    uow.after_commit(lambda: metrics.EXPORTS.labels(kind, outcome).inc())


PROGRESS_EVERY_S = 1.0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class JobTakenOver(Exception):
    """Another instance took the job over (this one's lease had expired): this one stops it."""


class ExportJobs:
    """The jobs of this process. `new_uow` opens a transaction; `read_uow` a read-only one.
    `instance_id` names this instance in the jobs' leases (settings.instance_id by default)."""

    def __init__(
        self,
        new_uow: NewUnitOfWork,
        read_uow: NewUnitOfWork,
        settings: ExportSettings,
        store: FolderDocumentStore,
        instance_id: str | None = None,
        sole_instance: bool = False,
    ) -> None:
        self.instance_id = instance_id or settings.instance_id
        self.sole_instance = sole_instance  # SQLite: one process; any lease found at start is a dead one's
        self._new_uow = new_uow
        self._read_uow = read_uow
        self._settings = settings
        self._store = store
        self._gate = asyncio.Semaphore(max(1, settings.export_workers))
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._threads: set[asyncio.Future[Produced]] = set()
        self._progress: dict[str, Progress] = {}
        self._stopping = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None

    # ---- requests -------------------------------------------------------------------------------------

    async def create(self, request: ExportRequest, *, sub: str, email: str) -> ExportJob:
        checked = check_request(request, self._settings, email)
        job = ExportJob.queued(
            str(uuid.uuid4()),
            kind=checked.kind,
            format=checked.format,
            date_from=checked.date_from,
            date_to=checked.date_to,
            notify=checked.notify,
            requested_by_sub=sub,
            requested_by_email=email,
            at=dt.datetime.now(dt.UTC),
        )
        async with self._new_uow() as uow:
            await uow.jobs.add(job)
            await uow.commit()
        self.start(job.id)
        return job

    async def get(self, job_id: str) -> ExportJob:
        async with self._read_uow() as uow:
            job = await uow.jobs.get(job_id)
        if job is None:
            raise NotFound("id", f"no export {job_id!r}")
        live = self._progress.get(job_id)
        if live is not None and job.status == RUNNING:
            job = job.with_progress(live.done, live.total)  # fresher than the last saved progress
        return job

    def file_of(self, job: ExportJob) -> Path:
        if job.status != COMPLETED or job.path is None:
            raise Conflict("id", f"export {job.id} is {job.status}: no file yet")
        return self._store.local_path(job.path)

    # ---- lifecycle ------------------------------------------------------------------------------------

    async def resume(self) -> None:
        """Jobs nobody holds (left by a restart, or by an instance that died: its lease expired) are
        run again from the start; the claim decides which instance runs each."""
        if self.sole_instance and self._watcher is None:  # at start: a killed predecessor's leases
            async with self._new_uow() as uow:
                await uow.jobs.release(None)
                await uow.commit()
        async with self._read_uow() as uow:
            ids = await uow.jobs.unclaimed(_now())
        for job_id in ids:
            if job_id not in self._tasks:
                log.info("export job resumed", export_id=job_id)
                self.start(job_id)

    async def watch(self) -> None:
        """Every heartbeat, take up the jobs nobody holds, until stop()."""
        await job_lease.watch(self._settings.job_heartbeat_s, self.resume, "export jobs", self._stopping)

    async def start_watching(self) -> None:
        """At start: the watch in the background, ended by stop()."""
        self._watcher = asyncio.create_task(self.watch(), name="export-jobs-watch")

    async def stop(self, *, release_leases: bool = True) -> None:
        """Stop the jobs in progress; with `release_leases` (a clean stop) leave them to the next
        instance to look at once, rather than after the lease (False: a crash, for the tests)."""
        self._stopping.set()
        if self._watcher is not None:
            await asyncio.gather(self._watcher, return_exceptions=True)
        running = list(self._tasks.values())
        for progress in self._progress.values():
            progress.cancel.set()
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        if self._threads:  # a writer stops at its next document once cancelled
            await asyncio.wait(self._threads, timeout=30)
            for future in self._threads:
                if future.done() and not future.cancelled():
                    future.exception()  # retrieved: an abandoned run is not an error to log
        if release_leases and running:
            try:
                async with self._new_uow() as uow:
                    await uow.jobs.release(self.instance_id)
                    await uow.commit()
            except Exception as exc:  # they are taken over once their leases expire
                log.warning("export job leases not released", error=f"{type(exc).__name__}: {exc}")

    def start(self, job_id: str) -> None:
        """Run the job in this process, unless another instance holds it (the claim decides)."""
        task = asyncio.create_task(self._run(job_id), name=f"export-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(job_id, None))

    # ---- running --------------------------------------------------------------------------------------

    async def _begin(self, job_id: str) -> tuple[ExportJob, Selection, int, list[Decimal]] | None:
        """Claims the job and marks it running with its document count; None when nobody needs to
        run it, or another instance holds it."""
        async with self._new_uow() as uow:
            job = await uow.jobs.get(job_id)
            if job is None or not job.is_active:
                return None
            if not await uow.jobs.claim(job_id, self.instance_id, _now(), self._settings.job_lease_s):
                log.info("export job held by another instance", export_id=job_id)
                return None
            selection = selection_of(job)
            total = await uow.documents.count(selection)
            rates = await uow.documents.vat_rates(selection) if job.kind == "excel" else []
            await uow.jobs.mark_running(job_id, total, dt.datetime.now(dt.UTC))
            await uow.commit()
        return job, selection, total, rates

    async def _run(self, job_id: str) -> None:
        async with self._gate:
            try:
                begun = await self._begin(job_id)
            except Exception as exc:  # a job never stays "queued" with nobody working on it
                log.warning("export job could not start", export_id=job_id, error=str(exc))
                await self._fail(job_id, f"{type(exc).__name__}: {exc}")
                return
            if begun is None:
                return
            job, selection, total, rates = begun
            progress = Progress(total=total)
            self._progress[job_id] = progress
            loop = asyncio.get_running_loop()
            writer = ExportFileWriter(self._settings, self._store, self._read_uow, loop)
            future = loop.run_in_executor(None, writer.produce, job, selection, rates, progress)
            self._threads.add(future)
            future.add_done_callback(self._threads.discard)
            try:
                renewed = loop.time()
                while not future.done():
                    await asyncio.wait({future}, timeout=PROGRESS_EVERY_S)
                    heartbeat = loop.time() - renewed >= self._settings.job_heartbeat_s
                    await self._save_progress(job_id, progress, heartbeat)
                    if heartbeat:
                        renewed = loop.time()
                produced = future.result()
            except JobTakenOver:
                progress.cancel.set()  # the writer stops at its next document; the new holder runs it
                log.warning("export job taken over by another instance", export_id=job_id)
                return
            except (asyncio.CancelledError, FeedCancelled):
                # Left "running" under this instance's lease: another instance (or this one once
                # restarted) takes it over when the lease has expired.
                raise asyncio.CancelledError from None
            except Exception as exc:
                log.warning("export job failed", export_id=job_id, error=str(exc))
                await self._fail(job_id, f"{type(exc).__name__}: {exc}")
                return
            finally:
                self._progress.pop(job_id, None)
            await self._complete(job_id, produced, progress)

    async def _save_progress(self, job_id: str, progress: Progress, heartbeat: bool) -> None:
        """The progress, with the lease renewed on a heartbeat; JobTakenOver if the job is no longer ours."""
        now = _now()
        renew_until = lease_until(now, self._settings.job_lease_s) if heartbeat else None
        async with self._new_uow() as uow:
            held = await uow.jobs.save_progress(
                job_id, self.instance_id, progress.done, progress.total, renew_until
            )
            await uow.commit()
        if not held:
            raise JobTakenOver(job_id)

    async def _fail(self, job_id: str, error: str) -> None:
        async with self._new_uow() as uow:
            job = await uow.jobs.get(job_id)
            await uow.jobs.mark_failed(job_id, self.instance_id, error, _now())
            if job is not None:
                _count_export(uow, job.kind, "failed")
            await uow.commit()

    async def _complete(self, job_id: str, produced: Produced, progress: Progress) -> None:
        async with self._new_uow() as uow:
            job = await uow.jobs.get(job_id)
            if job is None:
                return
            if not await uow.jobs.mark_completed(
                job_id,
                self.instance_id,
                done=progress.done,
                total=progress.total,
                rows=produced.rows,
                path=produced.path,
                report=produced.report,
                at=_now(),
            ):
                log.warning("export job taken over by another instance", export_id=job_id)
                return  # its new holder produces it again and announces it
            # Before the event is queued: notification mails only what this receipt names, to whom it names.
            receipt = ExportReceipt(job.id, job.requested_by_email, produced.path)
            await asyncio.to_thread(write_receipt, self._store, receipt)
            if job.notify:
                uow.emit(
                    EXPORT_COMPLETED,
                    job.id,
                    ExportCompleted(
                        export_id=job.id,
                        requested_by=job.requested_by_email,
                        kind=job.kind,
                        format=job.format,
                        path=produced.path,
                        rows=produced.rows,
                        report=produced.report,
                    ),
                )
            _count_export(uow, job.kind, "completed")
            await uow.commit()  # then the relay is woken
        log.info("export job completed", export_id=job_id, path=produced.path, rows=produced.rows)
