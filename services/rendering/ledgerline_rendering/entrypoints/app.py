"""The rendering service process."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from fastapi import FastAPI

from ledgerline_rendering.adapters.database import migrate
from ledgerline_rendering.adapters.document_files import DocumentFileWriter
from ledgerline_rendering.adapters.orm import messaging
from ledgerline_rendering.adapters.render_pool import PdfRenderPool
from ledgerline_rendering.config import RenderingSettings, get_rendering_settings
from ledgerline_rendering.entrypoints import http, subscribers
from ledgerline_rendering.service.production_copies import publish_missed_copies
from ledgerline_rendering.service.unit_of_work import RenderingUnitOfWork
from ledgerline_shared.document_store import FolderDocumentStore
from ledgerline_shared.runtime import ServiceRuntime
from ledgerline_shared.topics import DOCUMENT_RENDERED

SERVICE = "rendering"
log = structlog.get_logger(__name__)


def create_app(settings: RenderingSettings | None = None) -> FastAPI:
    settings = settings or get_rendering_settings()
    runtime = ServiceRuntime(SERVICE, messaging, settings, publishes=[DOCUMENT_RENDERED])
    runtime.hooks.migrate = migrate
    pool = PdfRenderPool(workers=settings.render_workers or None, validate=settings.validate_einvoices)
    writer = DocumentFileWriter(FolderDocumentStore(settings.document_root()))
    runtime.hooks.on_start.append(pool.start)

    async def close_pool() -> None:
        pool.close()

    runtime.hooks.on_stop.append(close_pool)
    subscribers.register(runtime, settings, pool, writer)
    runtime.hooks.background.append(production_copy_checker(runtime, settings, writer))
    app = runtime.create_app(
        http.router,
        title="Ledgerline rendering",
        description="PDF/A-3 with Factur-X, UBL 2.1 and JSON of every document; versions and counter.",
    )
    app.state.settings = settings
    return app


def production_copy_checker(
    runtime: ServiceRuntime, settings: RenderingSettings, writer: DocumentFileWriter
) -> Callable[[], Coroutine[Any, Any, None]]:
    """The background job that finishes the SFTP tree's copies a killed process left unwritten."""
    every = dt.timedelta(seconds=settings.production_check_s)

    async def check_production_copies() -> None:
        while True:
            try:
                uow = RenderingUnitOfWork(runtime.sessions, runtime.event_sink)
                done = await publish_missed_copies(uow, writer, now=dt.datetime.now(dt.UTC), settle=every)
                if done.checked:
                    continue  # a backlog (a restart after many versions): keep going
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database away: the next round tries again
                log.warning("production copies not checked", error=str(exc))
            await asyncio.sleep(every.total_seconds())

    return check_production_copies
