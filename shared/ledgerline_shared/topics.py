"""The topic catalog (spec section 9): names, payload models, keys and partition counts, in one place.

The partition counts here are the only ones: deploy/kafka_admin.py creates every topic with its count
(docs/events.md, "Partitions", gives the reason for each). Kafka can add partitions to a topic later but
never remove any, and adding them moves keys to other partitions (per-key order breaks across the change).
"""

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
# Dead letters should be rare: one partition keeps them in the order they failed.
DLQ_PARTITIONS = 1


@dataclass(frozen=True)
class TopicSpec:
    name: str
    payload: type[BaseModel]
    key: str  # what the key holds, for the docs and AsyncAPI
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    partitions: int  # the most consumers of one group that share the topic (docs/events.md)


CATALOG: dict[str, TopicSpec] = {
    t.name: t
    for t in (
        TopicSpec(USAGE_RECORDED, UsageRecorded, "account", ("mediation",), ("invoicing",), 12),
        TopicSpec(BILLING_RUN_REQUESTED, BillingRunRequested, "period", ("scheduler",), ("invoicing",), 1),
        TopicSpec(INVOICE_PREVIEW_CREATED, Document, "run id", ("invoicing",), ("rendering",), 6),
        TopicSpec(INVOICE_ISSUED, Document, "number", ("invoicing",), ("rendering", "export"), 12),
        TopicSpec(
            CREDITNOTE_REQUESTED,
            CreditNoteRequested,
            "invoice number",
            ("any", "invoicing"),
            ("invoicing",),
            3,
        ),
        TopicSpec(CREDITNOTE_ISSUED, Document, "number", ("invoicing",), ("rendering", "export"), 3),
        TopicSpec(PROFORMA_CREATED, Document, "number", ("invoicing",), ("rendering", "export"), 3),
        TopicSpec(INVOICE_RENDER_REQUESTED, RenderRequested, "number", ("invoicing",), ("rendering",), 3),
        TopicSpec(
            DOCUMENT_RENDERED,
            DocumentRendered,
            "number",
            ("rendering",),
            ("notification", "export", "invoicing"),
            12,
        ),
        TopicSpec(INVOICE_SEND_REQUESTED, SendRequested, "number", ("invoicing",), ("notification",), 12),
        TopicSpec(INVOICE_DELIVERED, DeliveryOutcome, "number", ("notification",), ("invoicing",), 12),
        TopicSpec(INVOICE_DELIVERY_FAILED, DeliveryOutcome, "number", ("notification",), ("invoicing",), 3),
        TopicSpec(EXPORT_COMPLETED, ExportCompleted, "export id", ("export",), ("notification",), 1),
    )
}


def dead_letter_topic(topic: str) -> str:
    return topic + DLQ_SUFFIX


def all_topics() -> list[str]:
    """Every topic the stack creates at start-up, dead-letter topics included."""
    names = list(CATALOG)
    return names + [dead_letter_topic(n) for n in names]


def partitions_of(topic: str) -> int:
    """The partition count `topic` is created with: the catalog's, DLQ_PARTITIONS for a dead-letter topic."""
    if topic.endswith(DLQ_SUFFIX) and topic.removesuffix(DLQ_SUFFIX) in CATALOG:
        return DLQ_PARTITIONS
    return CATALOG[topic].partitions
