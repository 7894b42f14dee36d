"""The invoicing service process: runtime, subscribers, routes."""

from __future__ import annotations

from fastapi import FastAPI

from ledgerline_invoicing.adapters.database import migrate
from ledgerline_invoicing.adapters.orm import messaging
from ledgerline_invoicing.config import InvoicingSettings, get_invoicing_settings
from ledgerline_invoicing.entrypoints import (
    http_corrections,
    http_documents,
    http_folder,
    http_run_review,
    http_usage,
    subscribers,
    subscribers_corrections,
)
from ledgerline_invoicing.entrypoints.http_errors import install_error_handlers
from ledgerline_invoicing.service.billing_runs import BillingRunner, recent_runs
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_invoicing.service.usage import MAX_BATCH_BYTES
from ledgerline_shared.runtime import DashboardSection, ServiceRuntime
from ledgerline_shared.topics import (
    CREDITNOTE_ISSUED,
    INVOICE_ISSUED,
    INVOICE_PREVIEW_CREATED,
    INVOICE_RENDER_REQUESTED,
    INVOICE_SEND_REQUESTED,
    PROFORMA_CREATED,
)

SERVICE = "invoicing"


def billing_runner(runtime: ServiceRuntime, settings: InvoicingSettings) -> BillingRunner:
    """The runner's units of work do not wake the relay per chunk: it wakes once the run completed."""
    return BillingRunner(
        lambda: InvoicingUnitOfWork(runtime.sessions, runtime.event_sink),
        settings,
        wake=runtime.relay.wake,
        sole_instance=runtime.engine.dialect.name == "sqlite",  # SQLite is one process
    )


def create_app(settings: InvoicingSettings | None = None) -> FastAPI:
    settings = settings or get_invoicing_settings()
    runtime = ServiceRuntime(
        SERVICE,
        messaging,
        settings,
        publishes=[
            INVOICE_PREVIEW_CREATED,
            INVOICE_ISSUED,
            CREDITNOTE_ISSUED,
            PROFORMA_CREATED,
            INVOICE_RENDER_REQUESTED,
            INVOICE_SEND_REQUESTED,
        ],
    )
    runtime.hooks.migrate = migrate
    runtime.body_limits |= {
        "/api/v1/usage": MAX_BATCH_BYTES,
        "/api/v1/usage.csv": settings.usage_csv_max_bytes,
    }
    runner = billing_runner(runtime, settings)
    runtime.hooks.on_start.append(runner.resume_unfinished)
    runtime.hooks.on_start.append(runner.start_watching)  # runs another instance left (it died)
    runtime.hooks.on_stop.append(runner.stop)  # leaves its unfinished runs to the next instance
    subscribers.register(runtime, runner, settings)

    async def billing_runs_section() -> DashboardSection:
        runs = await recent_runs(
            InvoicingUnitOfWork(runtime.read_sessions, runtime.event_sink, read_only=True)
        )
        return DashboardSection(
            "Billing runs",
            ["started", "period", "mode", "status", "progress", "documents", "errors"],
            [
                [
                    r.created_at.isoformat(timespec="seconds"),
                    r.period,
                    r.mode,
                    r.status,
                    f"{r.done}/{r.total}",
                    len(r.documents or []),
                    len(r.errors or []),
                ]
                for r in runs
            ],
        )

    runtime.hooks.dashboard.append(billing_runs_section)
    subscribers_corrections.register(runtime, settings)
    app = runtime.create_app(
        http_folder.router,
        http_usage.router,
        http_documents.router,
        http_corrections.router,
        http_run_review.router,
        title="Ledgerline invoicing",
        description="Clients, catalog, folders, rating, billing runs, invoices, credit notes, proformas.",
    )
    app.state.billing_runner = runner
    app.state.settings = settings
    install_error_handlers(app)
    return app
