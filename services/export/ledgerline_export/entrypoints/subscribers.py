"""What export consumes: every issued document, and where its rendered files are."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_export.domain.issued_document import NotAnIssuedDocument
from ledgerline_export.service.read_model import record_issued, record_rendered
from ledgerline_export.service.unit_of_work import ExportUnitOfWork
from ledgerline_shared.contracts.document import Document
from ledgerline_shared.contracts.events import DocumentRendered
from ledgerline_shared.messaging.consumer import Handler, Inbound, PermanentError
from ledgerline_shared.runtime import ServiceRuntime
from ledgerline_shared.topics import CREDITNOTE_ISSUED, DOCUMENT_RENDERED, INVOICE_ISSUED, PROFORMA_CREATED
from ledgerline_shared.unit_of_work import EventSink

DOCUMENT_TOPICS = (INVOICE_ISSUED, CREDITNOTE_ISSUED, PROFORMA_CREATED)


def on_document(events: EventSink) -> Handler[Document]:
    async def handle(event: Inbound[Document], session: AsyncSession) -> None:
        uow = ExportUnitOfWork.joining(session, events, event.after_commit)
        try:
            await record_issued(uow, event.data)
        except NotAnIssuedDocument as exc:  # a preview or a numberless document on an issue topic
            raise PermanentError(str(exc)) from exc

    return handle


def on_rendered(events: EventSink) -> Handler[DocumentRendered]:
    async def handle(event: Inbound[DocumentRendered], session: AsyncSession) -> None:
        await record_rendered(ExportUnitOfWork.joining(session, events, event.after_commit), event.data)

    return handle


def register(runtime: ServiceRuntime) -> None:
    for topic in DOCUMENT_TOPICS:
        runtime.subscribe(topic, on_document(runtime.event_sink))
    runtime.subscribe(DOCUMENT_RENDERED, on_rendered(runtime.event_sink))
