"""Export jobs (spec 8, `POST /api/v1/exports`): checked, recorded, run as asyncio tasks in the process.

A job is a row first (queued), so a restart finds it again: jobs left queued or running are started
over at the next start. The slow part runs in a worker thread (service/export_files.py); the task keeps
the job's progress up to date meanwhile. On completion `export.completed` is queued in the same
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
from ledgerline_shared.contracts.events import ExportCompleted
from ledgerline_shared.contracts.export_receipt import ExportReceipt, write_receipt
from ledgerline_shared.document_store import FolderDocumentStore
from ledgerline_shared.observability import metrics
from ledgerline_shared.topics import EXPORT_COMPLETED

log = structlog.get_logger(__name__)


def _count_export(uow: ExportUnitOfWork, kind: str, outcome: str) -> None:
    """`ledgerline_exports_total`, once the job's outcome committed."""
    uow.after_commit(lambda: metrics.EXPORTS.labels(kind, outcome).inc())


PROGRESS_EVERY_S = 1.0


class ExportJobs:
    """The jobs of this process. `new_uow` opens a transaction; `read_uow` a read-only one."""

    def __init__(
        self,
        new_uow: NewUnitOfWork,
        read_uow: NewUnitOfWork,
        settings: ExportSettings,
        store: FolderDocumentStore,
    ) -> None:
        self._new_uow = new_uow
        self._read_uow = read_uow
        self._settings = settings
        self._store = store
        self._gate = asyncio.Semaphore(max(1, settings.export_workers))
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._threads: set[asyncio.Future[Produced]] = set()
        self._progress: dict[str, Progress] = {}

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
        self._start(job.id)
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
        """At start: jobs a previous process left queued or running are run again from the start."""
        async with self._new_uow() as uow:
            ids = await uow.jobs.requeue_unfinished()
            await uow.commit()
        for job_id in ids:
            log.info("export job resumed", export_id=job_id)
            self._start(job_id)

    async def stop(self) -> None:
        for progress in self._progress.values():
            progress.cancel.set()
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        if self._threads:  # a writer stops at its next document once cancelled
            await asyncio.wait(self._threads, timeout=30)
            for future in self._threads:
                if future.done() and not future.cancelled():
                    future.exception()  # retrieved: an abandoned run is not an error to log

    def _start(self, job_id: str) -> None:
        task = asyncio.create_task(self._run(job_id), name=f"export-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(job_id, None))

    # ---- running --------------------------------------------------------------------------------------

    async def _begin(self, job_id: str) -> tuple[ExportJob, Selection, int, list[Decimal]] | None:
        """Marks the job running with its document count; None when nobody needs to run it."""
        async with self._new_uow() as uow:
            job = await uow.jobs.get(job_id)
            if job is None or not job.is_active:
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
                while not future.done():
                    await asyncio.wait({future}, timeout=PROGRESS_EVERY_S)
                    await self._save_progress(job_id, progress)
                produced = future.result()
            except (asyncio.CancelledError, FeedCancelled):
                raise asyncio.CancelledError from None  # left "running": resumed at the next start
            except Exception as exc:
                log.warning("export job failed", export_id=job_id, error=str(exc))
                await self._fail(job_id, f"{type(exc).__name__}: {exc}")
                return
            finally:
                self._progress.pop(job_id, None)
            await self._complete(job_id, produced, progress)

    async def _save_progress(self, job_id: str, progress: Progress) -> None:
        async with self._new_uow() as uow:
            await uow.jobs.save_progress(job_id, progress.done, progress.total)
            await uow.commit()

    async def _fail(self, job_id: str, error: str) -> None:
        async with self._new_uow() as uow:
            job = await uow.jobs.get(job_id)
            await uow.jobs.mark_failed(job_id, error, dt.datetime.now(dt.UTC))
            if job is not None:
                _count_export(uow, job.kind, "failed")
            await uow.commit()

    async def _complete(self, job_id: str, produced: Produced, progress: Progress) -> None:
        async with self._new_uow() as uow:
            job = await uow.jobs.get(job_id)
            if job is None:
                return
            await uow.jobs.mark_completed(
                job_id,
                done=progress.done,
                total=progress.total,
                rows=produced.rows,
                path=produced.path,
                report=produced.report,
                at=dt.datetime.now(dt.UTC),
            )
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
