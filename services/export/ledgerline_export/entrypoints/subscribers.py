"""What export consumes: every issued document, and where its rendered files are."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_export.domain.issued_document import NotAnIssuedDocument
from ledgerline_export.service.read_model import record_issued, record_rendered
from ledgerline_shared.contracts.document import Document
from ledgerline_shared.contracts.events import DocumentRendered
from ledgerline_shared.messaging.consumer import Inbound, PermanentError
from ledgerline_shared.runtime import ServiceRuntime
from ledgerline_shared.topics import CREDITNOTE_ISSUED, DOCUMENT_RENDERED, INVOICE_ISSUED, PROFORMA_CREATED

DOCUMENT_TOPICS = (INVOICE_ISSUED, CREDITNOTE_ISSUED, PROFORMA_CREATED)


async def on_document(event: Inbound[Document], session: AsyncSession) -> None:
    try:
        await record_issued(session, event.data)
    except NotAnIssuedDocument as exc:  # a preview or a numberless document on an issue topic
        raise PermanentError(str(exc)) from exc


async def on_rendered(event: Inbound[DocumentRendered], session: AsyncSession) -> None:
    await record_rendered(session, event.data)


def register(runtime: ServiceRuntime) -> None:
    for topic in DOCUMENT_TOPICS:
        runtime.subscribe(topic, on_document)
    runtime.subscribe(DOCUMENT_RENDERED, on_rendered)
