"""Writing an export job's file, in a worker thread: Excel, the grouped PDF, or an accounting format.

Documents come page by page from the read model (`DocumentFeed`); the file goes to
`exports/<id>/<name>` under the document store's root. The writers write a temporary file and rename
it, so an interrupted run leaves nothing half-written.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ledgerline_export.adapters.accounting_file import write_accounting_file
from ledgerline_export.adapters.excel_export_file import write_excel_export
from ledgerline_export.adapters.grouped_pdf_file import write_grouped_pdf
from ledgerline_export.config import ExportSettings
from ledgerline_export.domain.document_selection import Selection
from ledgerline_export.domain.excel_export import ExcelLayout
from ledgerline_export.domain.export_job import ExportJob
from ledgerline_export.domain.grouped_pdf import GroupedPdfPart, plan_grouped_pdf
from ledgerline_export.service.accounting_files import accounting_file_name, accounting_format
from ledgerline_export.service.document_feed import DocumentFeed, Progress
from ledgerline_export.service.unit_of_work import NewUnitOfWork
from ledgerline_shared.document_store import FolderDocumentStore


@dataclass(frozen=True)
class Produced:
    path: str  # relative to the store root
    rows: int
    report: str


class NothingToExport(Exception):
    pass


def _span(job: ExportJob) -> str:
    return f"{job.date_from:%Y%m%d}-{job.date_to:%Y%m%d}"


def excel_report(job: ExportJob, rows: int, totals: dict[str, Decimal]) -> str:
    lines = [f"Excel export {job.date_from}..{job.date_to}", f"Documents: {rows}"]
    lines += [f"{name}: {value}" for name, value in totals.items()]
    return "\n".join(lines) + "\n"


class ExportFileWriter:
    """Runs in a worker thread; pulls documents through `read_uow` on the event loop `loop`."""

    def __init__(
        self,
        settings: ExportSettings,
        store: FolderDocumentStore,
        read_uow: NewUnitOfWork,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._settings = settings
        self._store = store
        self._read_uow = read_uow
        self._loop = loop

    def _target(self, job: ExportJob, name: str) -> tuple[str, Path]:
        rel = f"exports/{job.id}/{name}"
        path = self._store.local_path(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        return rel, path

    def _feed(self, selection: Selection, progress: Progress, *, counts: bool = True) -> DocumentFeed:
        return DocumentFeed(self._loop, self._read_uow, selection, progress, counts=counts)

    def produce(
        self, job: ExportJob, selection: Selection, rates: list[Decimal], progress: Progress
    ) -> Produced:
        if job.kind == "excel":
            rel, path = self._target(job, f"invoices-{_span(job)}.xlsx")
            result = write_excel_export(path, self._feed(selection, progress), ExcelLayout.for_rates(rates))
            return Produced(rel, result.rows, excel_report(job, result.rows, result.totals))
        if job.kind == "grouped_pdf":
            return self._grouped_pdf(job, selection, progress)
        assert job.format is not None
        settings = self._settings
        now = dt.datetime.now(dt.UTC)
        fmt = accounting_format(settings, job.format, job.date_from, job.date_to, now)
        rel, path = self._target(job, accounting_file_name(settings, job.format, job.date_from, job.date_to))
        exported = write_accounting_file(path, self._feed(selection, progress), fmt, settings.account_plan())
        header = f"Period: {job.date_from}..{job.date_to}\nFile: {path.name}\n"
        return Produced(rel, exported.rows, header + exported.report_text)

    def _grouped_pdf(self, job: ExportJob, selection: Selection, progress: Progress) -> Produced:
        # Planning holds one small record per document (number, title, path), never PDF bytes.
        plan = plan_grouped_pdf(self._feed(selection, progress, counts=False))
        if not plan.parts:
            raise NothingToExport(
                f"no document with a stored PDF between {job.date_from} and {job.date_to}"
                + (f" ({len(plan.missing)} not rendered yet)" if plan.missing else "")
            )
        progress.total = len(plan.parts)

        def parts() -> Iterator[GroupedPdfPart]:
            for part in plan.parts:
                progress.check()
                yield part
                progress.done += 1

        rel, path = self._target(job, f"invoices-{_span(job)}.pdf")
        result = write_grouped_pdf(path, parts(), resolve=self._store.local_path)
        report = [
            f"Grouped PDF {job.date_from}..{job.date_to}",
            f"Documents: {result.documents}, pages: {result.pages}",
        ]
        if plan.missing:
            report.append(f"Not rendered yet, left out ({len(plan.missing)}): {', '.join(plan.missing[:50])}")
        return Produced(rel, result.documents, "\n".join(report) + "\n")
