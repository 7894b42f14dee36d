"""Export jobs (spec 8, `POST /api/v1/exports`): checked, recorded, run as asyncio tasks in the process.

A job is a row first (queued), so a restart finds it again: jobs left queued or running are started
over at the next start (the file writers write a temporary file and rename it, so an interrupted run
leaves nothing half-written). The slow part runs in a worker thread pulling documents page by page
(`DocumentFeed`); the task keeps the row's progress up to date meanwhile. The file goes to
`exports/<id>/<name>` under the document store's root. On completion `export.completed` is queued in
the same transaction that marks the job completed: always for accounting exports (the guide's report
"sent to you by email"), for the others when the requester asked for it (`notify`). A failed job
records its error and sends nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import structlog
from sqlalchemy import select, update

from ledgerline_export.adapters.accounting_file import write_accounting_file
from ledgerline_export.adapters.excel_export_file import write_excel_export
from ledgerline_export.adapters.grouped_pdf_file import write_grouped_pdf
from ledgerline_export.adapters.orm import ExportJobRow
from ledgerline_export.config import ExportSettings
from ledgerline_export.domain.excel_export import ExcelLayout
from ledgerline_export.domain.grouped_pdf import GroupedPdfPart, plan_grouped_pdf
from ledgerline_export.service.accounting_files import (
    ACCOUNTING_FORMATS,
    accounting_file_name,
    accounting_format,
)
from ledgerline_export.service.document_feed import DocumentFeed, FeedCancelled, Progress
from ledgerline_export.service.errors import Conflict, NotFound, Refused
from ledgerline_export.service.read_model import (
    ACCOUNTING_TYPES,
    ALL_TYPES,
    Selection,
    count_documents,
    vat_rates,
)
from ledgerline_shared.contracts.events import ExportCompleted
from ledgerline_shared.contracts.export_receipt import ExportReceipt, write_receipt
from ledgerline_shared.document_store import FolderDocumentStore
from ledgerline_shared.runtime import ServiceRuntime
from ledgerline_shared.topics import EXPORT_COMPLETED

log = structlog.get_logger(__name__)

KINDS = ("excel", "grouped_pdf", "accounting")
# The one format each file kind is written in; naming it in a request is allowed, any other refused.
OWN_FORMAT = {"excel": "xlsx", "grouped_pdf": "pdf"}
ACTIVE = ("queued", "running")
PROGRESS_EVERY_S = 1.0


@dataclass(frozen=True)
class ExportRequest:
    kind: str
    date_from: dt.date
    date_to: dt.date
    format: str | None = None
    notify: bool = False


def check_request(request: ExportRequest, settings: ExportSettings, requester_email: str) -> ExportRequest:
    """The request as it will run, or Refused naming the field at fault."""
    if request.kind not in KINDS:
        raise Refused("kind", f"unknown export kind {request.kind!r}; one of {', '.join(KINDS)}")
    if request.date_from > request.date_to:
        raise Refused("from", f"from ({request.date_from}) is after to ({request.date_to})")
    days = (request.date_to - request.date_from).days + 1
    if days > settings.max_range_days:
        raise Refused("to", f"the range covers {days} days; at most {settings.max_range_days}")
    fmt = request.format.strip().lower() if request.format else None
    if request.kind == "accounting":
        if not fmt:
            raise Refused("format", f"an accounting export needs a format: {', '.join(ACCOUNTING_FORMATS)}")
        if fmt not in ACCOUNTING_FORMATS:
            known = ", ".join(ACCOUNTING_FORMATS)
            raise Refused("format", f"unknown accounting format {fmt!r}; one of {known}")
        # Built once here so that a range the format refuses (DATEV across fiscal years) is a 422 now.
        accounting_format(settings, fmt, request.date_from, request.date_to, dt.datetime.now(dt.UTC))
    elif fmt is not None and fmt != OWN_FORMAT[request.kind]:
        own = OWN_FORMAT[request.kind]
        raise Refused("format", f"a {request.kind} export is written as {own}, not {fmt!r}")
    else:
        fmt = None
    if (request.kind == "accounting" or request.notify) and "@" not in requester_email:
        raise Refused("notify", "the token carries no e-mail address to send the export report to")
    return ExportRequest(request.kind, request.date_from, request.date_to, fmt, request.notify)


@dataclass(frozen=True)
class JobSpec:
    """What the worker thread needs of a job (never an ORM object across threads)."""

    id: str
    kind: str
    format: str | None
    date_from: dt.date
    date_to: dt.date

    @classmethod
    def of(cls, row: ExportJobRow) -> JobSpec:
        return cls(row.id, row.kind, row.format, row.date_from, row.date_to)


@dataclass(frozen=True)
class Produced:
    path: str  # relative to the store root
    rows: int
    report: str


class NothingToExport(Exception):
    pass


def _span(spec: JobSpec) -> str:
    return f"{spec.date_from:%Y%m%d}-{spec.date_to:%Y%m%d}"


def excel_report(spec: JobSpec, rows: int, totals: dict[str, Decimal]) -> str:
    lines = [f"Excel export {spec.date_from}..{spec.date_to}", f"Documents: {rows}"]
    lines += [f"{name}: {value}" for name, value in totals.items()]
    return "\n".join(lines) + "\n"


class ExportJobs:
    def __init__(self, runtime: ServiceRuntime, settings: ExportSettings, store: FolderDocumentStore) -> None:
        self._runtime = runtime
        self._settings = settings
        self._store = store
        self._gate = asyncio.Semaphore(max(1, settings.export_workers))
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._threads: set[asyncio.Future[Produced]] = set()
        self._progress: dict[str, Progress] = {}

    # ---- requests -------------------------------------------------------------------------------------

    async def create(self, request: ExportRequest, *, sub: str, email: str) -> ExportJobRow:
        checked = check_request(request, self._settings, email)
        row = ExportJobRow(
            id=str(uuid.uuid4()),
            kind=checked.kind,
            format=checked.format,
            date_from=checked.date_from,
            date_to=checked.date_to,
            status="queued",
            done=0,
            total=0,
            requested_by_sub=sub,
            requested_by_email=email,
            notify=checked.notify or checked.kind == "accounting",
            created_at=dt.datetime.now(dt.UTC),
        )
        async with self._runtime.sessions() as session, session.begin():
            session.add(row)
        self._start(row.id)
        return row

    async def get(self, job_id: str) -> ExportJobRow:
        async with self._runtime.read_sessions() as session:
            row = await session.get(ExportJobRow, job_id)
        if row is None:
            raise NotFound("id", f"no export {job_id!r}")
        live = self._progress.get(job_id)
        if live is not None and row.status == "running":
            row.done, row.total = live.done, live.total  # fresher than the last saved progress
        return row

    def file_of(self, row: ExportJobRow) -> Path:
        if row.status != "completed" or row.path is None:
            raise Conflict("id", f"export {row.id} is {row.status}: no file yet")
        return self._store.local_path(row.path)

    # ---- lifecycle ------------------------------------------------------------------------------------

    async def resume(self) -> None:
        """At start: jobs a previous process left queued or running are run again from the start."""
        async with self._runtime.sessions() as session, session.begin():
            ids = list(await session.scalars(select(ExportJobRow.id).where(ExportJobRow.status.in_(ACTIVE))))
            if ids:
                await session.execute(
                    update(ExportJobRow).where(ExportJobRow.id.in_(ids)).values(status="queued", done=0)
                )
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

    def _selection(self, spec: JobSpec) -> Selection:
        # Excel covers sales (invoices and credit notes): its totals are the period's revenue. The
        # grouped PDF is every document of the range; accounting reads proformas too, only to count
        # them as excluded in its report.
        types = ALL_TYPES if spec.kind in ("grouped_pdf", "accounting") else ACCOUNTING_TYPES
        return Selection(types=types, date_from=spec.date_from, date_to=spec.date_to)

    async def _run(self, job_id: str) -> None:
        async with self._gate:
            try:
                async with self._runtime.sessions() as session, session.begin():
                    row = await session.get(ExportJobRow, job_id)
                    if row is None or row.status not in ACTIVE:
                        return
                    spec = JobSpec.of(row)
                    selection = self._selection(spec)
                    total = await count_documents(session, selection)
                    rates = await vat_rates(session, selection) if spec.kind == "excel" else []
                    row.status, row.done, row.total = "running", 0, total
                    row.started_at = dt.datetime.now(dt.UTC)
            except Exception as exc:  # a job never stays "queued" with nobody working on it
                log.warning("export job could not start", export_id=job_id, error=str(exc))
                await self._fail(job_id, f"{type(exc).__name__}: {exc}")
                return
            progress = Progress(total=total)
            self._progress[job_id] = progress
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(None, self._produce, spec, selection, rates, progress, loop)
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
        async with self._runtime.sessions() as session, session.begin():
            await session.execute(
                update(ExportJobRow)
                .where(ExportJobRow.id == job_id, ExportJobRow.status == "running")
                .values(done=progress.done, total=progress.total)
            )

    async def _fail(self, job_id: str, error: str) -> None:
        async with self._runtime.sessions() as session, session.begin():
            await session.execute(
                update(ExportJobRow)
                .where(ExportJobRow.id == job_id)
                .values(status="failed", error=error[:2000], finished_at=dt.datetime.now(dt.UTC))
            )

    async def _complete(self, job_id: str, produced: Produced, progress: Progress) -> None:
        async with self._runtime.sessions() as session, session.begin():
            row = await session.get(ExportJobRow, job_id)
            if row is None:
                return
            row.status = "completed"
            row.done, row.total = progress.done, progress.total
            row.rows, row.path, row.report = produced.rows, produced.path, produced.report
            row.finished_at = dt.datetime.now(dt.UTC)
            # Before the event is queued: notification mails only what this receipt names, to whom it names.
            receipt = ExportReceipt(row.id, row.requested_by_email, produced.path)
            await asyncio.to_thread(write_receipt, self._store, receipt)
            if row.notify:
                await self._runtime.emit(
                    session,
                    EXPORT_COMPLETED,
                    row.id,
                    ExportCompleted(
                        export_id=row.id,
                        requested_by=row.requested_by_email,
                        kind=row.kind,
                        format=row.format,
                        path=produced.path,
                        rows=produced.rows,
                        report=produced.report,
                    ),
                )
        self._runtime.relay.wake()
        log.info("export job completed", export_id=job_id, path=produced.path, rows=produced.rows)

    # ---- in the worker thread -------------------------------------------------------------------------

    def _target(self, spec: JobSpec, name: str) -> tuple[str, Path]:
        rel = f"exports/{spec.id}/{name}"
        path = self._store.local_path(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        return rel, path

    def _produce(
        self,
        spec: JobSpec,
        selection: Selection,
        rates: list[Decimal],
        progress: Progress,
        loop: asyncio.AbstractEventLoop,
    ) -> Produced:
        sessions = self._runtime.read_sessions
        if spec.kind == "excel":
            rel, path = self._target(spec, f"invoices-{_span(spec)}.xlsx")
            feed = DocumentFeed(loop, sessions, selection, progress)
            result = write_excel_export(path, feed, ExcelLayout.for_rates(rates))
            return Produced(rel, result.rows, excel_report(spec, result.rows, result.totals))
        if spec.kind == "grouped_pdf":
            return self._grouped_pdf(spec, selection, progress, loop)
        assert spec.format is not None
        now = dt.datetime.now(dt.UTC)
        fmt = accounting_format(self._settings, spec.format, spec.date_from, spec.date_to, now)
        rel, path = self._target(
            spec, accounting_file_name(self._settings, spec.format, spec.date_from, spec.date_to)
        )
        feed = DocumentFeed(loop, sessions, selection, progress)
        exported = write_accounting_file(path, feed, fmt, self._settings.account_plan())
        header = f"Period: {spec.date_from}..{spec.date_to}\nFile: {path.name}\n"
        return Produced(rel, exported.rows, header + exported.report_text)

    def _grouped_pdf(
        self, spec: JobSpec, selection: Selection, progress: Progress, loop: asyncio.AbstractEventLoop
    ) -> Produced:
        # Planning holds one small record per document (number, title, path), never PDF bytes.
        feed = DocumentFeed(loop, self._runtime.read_sessions, selection, progress, counts=False)
        plan = plan_grouped_pdf(feed)
        if not plan.parts:
            raise NothingToExport(
                f"no document with a stored PDF between {spec.date_from} and {spec.date_to}"
                + (f" ({len(plan.missing)} not rendered yet)" if plan.missing else "")
            )
        progress.total = len(plan.parts)

        def parts() -> Iterator[GroupedPdfPart]:
            for part in plan.parts:
                progress.check()
                yield part
                progress.done += 1

        rel, path = self._target(spec, f"invoices-{_span(spec)}.pdf")
        result = write_grouped_pdf(path, parts(), resolve=self._store.local_path)
        report = [
            f"Grouped PDF {spec.date_from}..{spec.date_to}",
            f"Documents: {result.documents}, pages: {result.pages}",
        ]
        if plan.missing:
            report.append(f"Not rendered yet, left out ({len(plan.missing)}): {', '.join(plan.missing[:50])}")
        return Produced(rel, result.documents, "\n".join(report) + "\n")
