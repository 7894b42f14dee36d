"""What rendering consumes: every document event, and regeneration requests."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_rendering.adapters.document_files import DocumentFileWriter
from ledgerline_rendering.adapters.render_pool import PdfRenderPool, RenderedDocument
from ledgerline_rendering.config import RenderingSettings
from ledgerline_rendering.service.rendering import (
    RecordVersion,
    needs_first_rendering,
    needs_regeneration,
    record_first_version,
    record_regeneration,
)
from ledgerline_rendering.service.unit_of_work import RenderingUnitOfWork
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
    def reading() -> RenderingUnitOfWork:
        return RenderingUnitOfWork(runtime.read_sessions, runtime.event_sink, read_only=True)

    def joining(session: AsyncSession, event: Inbound[Any]) -> RenderingUnitOfWork:
        # Inside the idempotent consumer's transaction: it commits, then runs event.after_commit.
        return RenderingUnitOfWork.joining(session, runtime.event_sink, event.after_commit)

    async def render_first(event: Inbound[Document]) -> RenderedDocument | None:
        # A document already rendered (the same event re-sent under a new id) gets no new version.
        if not await needs_first_rendering(reading(), event.data):
            return None
        return await pool.render(event.data, settings.branding())

    async def store_first(event: Inbound[Document], session: AsyncSession) -> None:
        rendered: RenderedDocument | None = event.prepared
        if rendered is None:
            return
        cmd = RecordVersion(rendered, reason=FIRST_RENDER_REASON[event.topic])
        await record_first_version(joining(session, event), writer, cmd)

    async def render_again(event: Inbound[RenderRequested]) -> Any:
        if not await needs_regeneration(reading(), event.data.document.key, event.data.request_id):
            return False
        return await pool.render(event.data.document, settings.branding())

    async def store_again(event: Inbound[RenderRequested], session: AsyncSession) -> None:
        rendered = event.prepared
        if not isinstance(rendered, RenderedDocument):
            return
        cmd = RecordVersion(rendered, reason=event.data.reason, request_id=event.data.request_id)
        await record_regeneration(joining(session, event), writer, cmd)

    # Two consumers per topic in one group: each takes half the partitions, so two documents
    # render at once on the pool's processes while each partition stays in order.
    for topic in FIRST_RENDER_REASON:
        runtime.subscribe(topic, store_first, prepare=render_first, instances=2)
    runtime.subscribe(INVOICE_RENDER_REQUESTED, store_again, prepare=render_again, instances=2)
