"""The rendering service process."""

from __future__ import annotations

from fastapi import FastAPI

from ledgerline_rendering.adapters.database import migrate
from ledgerline_rendering.adapters.document_files import DocumentFileWriter
from ledgerline_rendering.adapters.orm import messaging
from ledgerline_rendering.adapters.render_pool import PdfRenderPool
from ledgerline_rendering.config import RenderingSettings, get_rendering_settings
from ledgerline_rendering.entrypoints import http, subscribers
from ledgerline_shared.document_store import FolderDocumentStore
from ledgerline_shared.runtime import ServiceRuntime
from ledgerline_shared.topics import DOCUMENT_RENDERED

SERVICE = "rendering"


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
    app = runtime.create_app(
        http.router,
        title="Ledgerline rendering",
        description="PDF/A-3 with Factur-X, UBL 2.1 and JSON of every document; versions and counter.",
    )
    app.state.settings = settings
    return app
