"""The topic catalog (spec section 9): names, payload models and keys, in one place."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from ledgerline_shared.contracts.document import Document
from ledgerline_shared.contracts.events import (
    BillingRunRequested,
    CreditNoteRequested,
    DeliveryOutcome,
    DocumentRendered,
    ExportCompleted,
    RenderRequested,
    SendRequested,
    UsageRecorded,
)

USAGE_RECORDED = "usage.recorded"
BILLING_RUN_REQUESTED = "billing.run.requested"
INVOICE_PREVIEW_CREATED = "invoice.preview.created"
INVOICE_ISSUED = "invoice.issued"
CREDITNOTE_REQUESTED = "creditnote.requested"
CREDITNOTE_ISSUED = "creditnote.issued"
PROFORMA_CREATED = "proforma.created"
INVOICE_RENDER_REQUESTED = "invoice.render.requested"
DOCUMENT_RENDERED = "document.rendered"
INVOICE_SEND_REQUESTED = "invoice.send.requested"
INVOICE_DELIVERED = "invoice.delivered"
INVOICE_DELIVERY_FAILED = "invoice.delivery_failed"
EXPORT_COMPLETED = "export.completed"

DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    payload: type[BaseModel]
    key: str  # what the key holds, for the docs and AsyncAPI
    producers: tuple[str, ...]
    consumers: tuple[str, ...]


CATALOG: dict[str, TopicSpec] = {
    t.name: t
    for t in (
        TopicSpec(USAGE_RECORDED, UsageRecorded, "account", ("mediation",), ("invoicing",)),
        TopicSpec(BILLING_RUN_REQUESTED, BillingRunRequested, "period", ("scheduler",), ("invoicing",)),
        TopicSpec(INVOICE_PREVIEW_CREATED, Document, "run id", ("invoicing",), ("rendering",)),
        TopicSpec(INVOICE_ISSUED, Document, "number", ("invoicing",), ("rendering", "export")),
        TopicSpec(
            CREDITNOTE_REQUESTED, CreditNoteRequested, "invoice number", ("any", "invoicing"), ("invoicing",)
        ),
        TopicSpec(CREDITNOTE_ISSUED, Document, "number", ("invoicing",), ("rendering", "export")),
        TopicSpec(PROFORMA_CREATED, Document, "number", ("invoicing",), ("rendering", "export")),
        TopicSpec(INVOICE_RENDER_REQUESTED, RenderRequested, "number", ("invoicing",), ("rendering",)),
        TopicSpec(
            DOCUMENT_RENDERED,
            DocumentRendered,
            "number",
            ("rendering",),
            ("notification", "export", "invoicing"),
        ),
        TopicSpec(INVOICE_SEND_REQUESTED, SendRequested, "number", ("invoicing",), ("notification",)),
        TopicSpec(INVOICE_DELIVERED, DeliveryOutcome, "number", ("notification",), ("invoicing",)),
        TopicSpec(INVOICE_DELIVERY_FAILED, DeliveryOutcome, "number", ("notification",), ("invoicing",)),
        TopicSpec(EXPORT_COMPLETED, ExportCompleted, "export id", ("export",), ("notification",)),
    )
}


def dead_letter_topic(topic: str) -> str:
    return topic + DLQ_SUFFIX


def all_topics() -> list[str]:
    """Every topic the stack creates at start-up, dead-letter topics included."""
    names = list(CATALOG)
    return names + [dead_letter_topic(n) for n in names]
