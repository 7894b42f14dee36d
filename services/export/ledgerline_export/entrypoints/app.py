"""The export service process: read model consumers, export jobs, the HTTP API and the SFTP server."""

from __future__ import annotations

from fastapi import FastAPI

from ledgerline_export.adapters.database import migrate
from ledgerline_export.adapters.orm import messaging
from ledgerline_export.config import ExportSettings, get_export_settings
from ledgerline_export.entrypoints import http, subscribers
from ledgerline_export.entrypoints.http_errors import install_error_handlers
from ledgerline_export.entrypoints.sftp import SftpListener
from ledgerline_export.entrypoints.units_of_work import reading, writing
from ledgerline_export.service.export_jobs import ExportJobs
from ledgerline_shared.document_store import FolderDocumentStore
from ledgerline_shared.runtime import DashboardSection, ServiceRuntime
from ledgerline_shared.topics import EXPORT_COMPLETED

SERVICE = "export"


def create_app(settings: ExportSettings | None = None) -> FastAPI:
    settings = settings or get_export_settings()
    runtime = ServiceRuntime(SERVICE, messaging, settings, publishes=[EXPORT_COMPLETED])
    runtime.hooks.migrate = migrate
    store = FolderDocumentStore(settings.document_root())
    jobs = ExportJobs(
        writing(runtime),
        reading(runtime),
        settings,
        store,
        sole_instance=runtime.engine.dialect.name == "sqlite",  # SQLite is one process
    )
    sftp = SftpListener(runtime, settings)
    if settings.sftp_enabled:
        runtime.hooks.on_start.append(sftp.start)
        runtime.hooks.on_stop.append(sftp.stop)
        runtime.hooks.checks["sftp"] = sftp.check
    runtime.hooks.on_start.append(jobs.resume)
    runtime.hooks.on_start.append(jobs.start_watching)  # jobs another instance left (it died)
    runtime.hooks.on_stop.append(jobs.stop)
    subscribers.register(runtime)

    async def read_model_section() -> DashboardSection:
        async with reading(runtime)() as uow:
            months = await uow.documents.count_by_month_and_type(months=36)
        return DashboardSection(
            "Issued documents by month", ["month", "type", "documents"], [list(r) for r in months]
        )

    async def jobs_section() -> DashboardSection:
        async with reading(runtime)() as uow:
            jobs_shown = await uow.jobs.recent(limit=20)
        return DashboardSection(
            "Recent export jobs",
            ["id", "kind", "format", "range", "status", "progress", "rows", "requested by"],
            [
                [
                    j.id,
                    j.kind,
                    j.format or "",
                    f"{j.date_from}..{j.date_to}",
                    j.status,
                    f"{j.done}/{j.total}",
                    j.rows if j.rows is not None else "",
                    j.requested_by_sub,
                ]
                for j in jobs_shown
            ],
        )

    runtime.hooks.dashboard += [read_model_section, jobs_section]
    app = runtime.create_app(
        http.router,
        title="Ledgerline export",
        description="Invoice lists, Excel, grouped PDF and accounting exports; the read-only SFTP tree.",
    )
    install_error_handlers(app)
    app.state.settings = settings
    app.state.jobs = jobs
    app.state.sftp = sftp
    return app
