"""What rendering consumes: every document event, and regeneration requests."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_rendering.adapters.document_files import DocumentFileWriter
from ledgerline_rendering.adapters.render_pool import PdfRenderPool, RenderedDocument
from ledgerline_rendering.config import RenderingSettings
from ledgerline_rendering.service.rendering import already_rendered, record_version, request_seen
from ledgerline_shared.contracts.document import Document
from ledgerline_shared.contracts.events import RenderRequested
from ledgerline_shared.messaging.consumer import Inbound
from ledgerline_shared.runtime import ServiceRuntime
from ledgerline_shared.topics import (
    CREDITNOTE_ISSUED,
    INVOICE_ISSUED,
    INVOICE_PREVIEW_CREATED,
    INVOICE_RENDER_REQUESTED,
    PROFORMA_CREATED,
)

FIRST_RENDER_REASON = {
    INVOICE_ISSUED: "issued",
    CREDITNOTE_ISSUED: "issued",
    PROFORMA_CREATED: "created",
    INVOICE_PREVIEW_CREATED: "preview",
}


def register(
    runtime: ServiceRuntime, settings: RenderingSettings, pool: PdfRenderPool, writer: DocumentFileWriter
) -> None:
    async def render_first(event: Inbound[Document]) -> RenderedDocument | None:
        # A document already rendered (the same event re-sent under a new id) gets no new version.
        async with runtime.sessions() as session:
            if await already_rendered(session, event.data):
                return None
        return await pool.render(event.data, settings.branding())

    async def store_first(event: Inbound[Document], session: AsyncSession) -> None:
        rendered: RenderedDocument | None = event.prepared
        if rendered is None or await already_rendered(session, event.data):
            return
        await record_version(
            session,
            runtime,
            writer,
            rendered,
            reason=FIRST_RENDER_REASON[event.topic],
            request_id=None,
            after_commit=event.after_commit,
            first_only=True,
        )

    async def render_again(event: Inbound[RenderRequested]) -> Any:
        async with runtime.sessions() as session:
            if await request_seen(session, event.data.document.key, event.data.request_id):
                return False
        return await pool.render(event.data.document, settings.branding())

    async def store_again(event: Inbound[RenderRequested], session: AsyncSession) -> None:
        rendered = event.prepared
        if not isinstance(rendered, RenderedDocument):
            return
        if await request_seen(session, event.data.document.key, event.data.request_id):
            return
        await record_version(
            session,
            runtime,
            writer,
            rendered,
            reason=event.data.reason,
            request_id=event.data.request_id,
            after_commit=event.after_commit,
        )

    # Two consumers per topic in one group: each takes half the partitions, so two documents
    # render at once on the pool's processes while each partition stays in order.
    for topic in FIRST_RENDER_REASON:
        runtime.subscribe(topic, store_first, prepare=render_first, instances=2)
    runtime.subscribe(INVOICE_RENDER_REQUESTED, store_again, prepare=render_again, instances=2)
