"""Issuing a document: number it, store it and queue its event, all in the caller's unit of work.

Where a document's number is taken: `take_numbers` (here) → adapters/number_sequence.py
`NumberSequence.take` → `take_next_sequence` (one upsert of the (series, year) row, held locked
until commit); the series rule and the format are domain/numbering.py `block_numbers`.

Traces: a document issued on a request (a credit note, a proforma) is a span of the request's trace;
each document of a billing run starts its own trace, linked to the run's span, so one invoice's
journey through the four services is one small trace (`_publish`). "document issued" is logged in
that trace once the transaction committed, never for a document a savepoint gave back.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence

import structlog

from ledgerline_invoicing.adapters.orm import ClientRow, DocumentRow
from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.domain.lines import DraftLine, to_document_lines
from ledgerline_invoicing.domain.money import document_totals, tax_breakdown
from ledgerline_invoicing.domain.numbering import block_numbers
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_shared.contracts.document import (
    Address,
    ConsumptionLine,
    Document,
    DocumentReference,
    DocumentType,
    Party,
    Recipient,
    TaxSubtotal,
    Totals,
)
from ledgerline_shared.observability import metrics, tracing
from ledgerline_shared.topics import (
    CREDITNOTE_ISSUED,
    INVOICE_ISSUED,
    INVOICE_PREVIEW_CREATED,
    PROFORMA_CREATED,
)

EVENT_OF = {
    DocumentType.INVOICE: INVOICE_ISSUED,
    DocumentType.CREDIT_NOTE: CREDITNOTE_ISSUED,
    DocumentType.PROFORMA: PROFORMA_CREATED,
    DocumentType.PREVIEW: INVOICE_PREVIEW_CREATED,
}
log = structlog.get_logger(__name__)


def _publish(
    uow: InvoicingUnitOfWork,
    kind: DocumentType,
    document: Document,
    key: str,
    *,
    own_trace: bool,
    payload: str | None = None,
) -> None:
    """Queue the document's event in a span of its own (a new trace when `own_trace`): the event
    carries that span's traceparent; log "document issued" in it once the transaction committed."""
    attributes = {"ledgerline.document.type": kind.value, "ledgerline.document.number": document.number or ""}
    name = f"issue {kind.value}"
    opened = tracing.new_trace(name, attributes) if own_trace else tracing.span(name, attributes=attributes)
    with opened:
        uow.emit(EVENT_OF[kind], key, document, payload=payload)
        carrier = tracing.current_carrier()

    def issued() -> None:
        with tracing.within(carrier):
            log.info(
                "document issued",
                number=document.number,
                type=kind.value,
                client_id=document.buyer.client_id,
                run_id=str(document.run_id) if document.run_id else None,
            )

    uow.after_commit(issued)


def prefix_of(settings: InvoicingSettings, kind: DocumentType) -> str:
    return {
        DocumentType.INVOICE: settings.invoice_prefix,
        DocumentType.CREDIT_NOTE: settings.credit_note_prefix,
        DocumentType.PROFORMA: settings.proforma_prefix,
    }[kind]


async def take_numbers(
    uow: InvoicingUnitOfWork, settings: InvoicingSettings, kind: DocumentType, year: int, count: int = 1
) -> list[str]:
    """The next `count` numbers of the kind's series and year, in order, taken in the unit of work's
    transaction: a rollback gives them back, and a concurrent issuer waits for the commit."""
    prefix = prefix_of(settings, kind)
    last = await uow.numbers.take(prefix, year, count)
    return block_numbers(prefix, year, last, count)  # refuses an exhausted series: the caller rolls back


async def buyer_snapshot(
    uow: InvoicingUnitOfWork, client: ClientRow, recipients: Sequence[Recipient] | None = None
) -> Party:
    """The client as it stands now: a regeneration uses the current address (user guide).

    `recipients`: the client's invoice recipients when the caller already read them (a billing run
    reads those of a whole chunk of clients in one query); read here otherwise.
    """
    if recipients is None:
        recipients = await uow.clients.invoice_recipients(client.id)
    return _buyer(client, recipients)


def _buyer(client: ClientRow, recipients: Sequence[Recipient]) -> Party:
    return Party(
        name=client.name,
        address=Address(
            line1=client.address_line1,
            line2=client.address_line2,
            postcode=client.postcode,
            city=client.city,
            country=client.country,
        ),
        vat_id=client.vat_id,
        siren=client.siren,
        client_id=client.id,
        code=client.code,
        recipients=list(recipients),
    )


async def issue_document(
    uow: InvoicingUnitOfWork,
    settings: InvoicingSettings,
    *,
    kind: DocumentType,
    client: ClientRow,
    lines: Sequence[DraftLine],
    issue_date: dt.date,
    period: str | None = None,
    references: Sequence[DocumentReference] = (),
    consumption: Sequence[ConsumptionLine] = (),
    reason: str | None = None,
    requested_by: str | None = None,
    run_id: str | None = None,
) -> tuple[DocumentRow, Document]:
    """Build, number (except previews), store and publish one document, in the open unit of work."""
    buyer = await buyer_snapshot(uow, client)
    number = None
    if kind is not DocumentType.PREVIEW:
        (number,) = await take_numbers(uow, settings, kind, issue_date.year)
    document = _document(
        settings,
        number=number,
        kind=kind,
        client=client,
        buyer=buyer,
        lines=lines,
        issue_date=issue_date,
        period=period,
        references=references,
        consumption=consumption,
        reason=reason,
        requested_by=requested_by,
        run_id=run_id,
    )
    row = await uow.documents.add(document, client, run_id)
    _publish(uow, kind, document, document.number or run_id or str(document.id), own_trace=False)
    count_issued(uow, kind)
    return row, document


def count_issued(uow: InvoicingUnitOfWork, kind: DocumentType, count: int = 1) -> None:
    """`ledgerline_documents_issued_total` moves once the transaction committed: a rolled-back
    document (its savepoint, or the whole transaction) is never counted."""
    uow.after_commit(lambda: metrics.DOCUMENTS_ISSUED.labels(kind.value).inc(count))


def run_document(
    settings: InvoicingSettings,
    *,
    kind: DocumentType,
    client: ClientRow,
    recipients: Sequence[Recipient],
    lines: Sequence[DraftLine],
    issue_date: dt.date,
    period: str,
    consumption: Sequence[ConsumptionLine],
    run_id: str | None,
    tax_subtotals: Sequence[TaxSubtotal] | None = None,
    totals: Totals | None = None,
) -> Document:
    """A billing run's document before its number: built (and so checked) before the number is
    taken, so the numbering row lock is not held while documents are built.

    `tax_subtotals` and `totals`: those the draft already computed from the same `lines` (domain
    `InvoiceDraft`), not computed a second time."""
    return _document(
        settings,
        number=None,
        kind=kind,
        client=client,
        buyer=_buyer(client, recipients),
        lines=lines,
        issue_date=issue_date,
        period=period,
        consumption=consumption,
        run_id=run_id,
        tax_subtotals=tax_subtotals,
        totals=totals,
    )


async def issue_run_documents(
    uow: InvoicingUnitOfWork,
    settings: InvoicingSettings,
    batch: Sequence[tuple[ClientRow, Document]],
    run_id: str | None,
) -> list[Document]:
    """Number (except previews), store and publish documents built by `run_document`, all or
    nothing: one block of numbers, given in the batch's order, and one multi-row INSERT. The
    caller runs it under a savepoint and, should it fail, issues them one batch of one at a time
    (so that only the failing one is left out).

    The batch is of one kind and, numbered, of one issue year (one series and year: one block).
    """
    if not batch:
        return []
    kinds = {document.type for _, document in batch}
    years = {document.issue_date.year for _, document in batch}
    if len(kinds) != 1 or len(years) != 1:
        raise ValueError("a batch of documents is of one kind and one issue year")
    kind, year = kinds.pop(), years.pop()
    if kind is not DocumentType.PREVIEW:
        numbers = await take_numbers(uow, settings, kind, year, len(batch))
        batch = [
            (client, document.model_copy(update={"number": number}))
            for number, (client, document) in zip(numbers, batch, strict=True)
        ]
    # The document's JSON is both its stored body and its event's payload: serialised once.
    bodies = [document.model_dump_json(by_alias=True) for _client, document in batch]
    await uow.documents.add_all(batch, run_id, bodies)
    for (_client, document), body in zip(batch, bodies, strict=True):
        key = document.number or run_id or str(document.id)
        _publish(uow, kind, document, key, own_trace=True, payload=body)
    count_issued(uow, kind, len(batch))
    return [document for _, document in batch]


def _document(
    settings: InvoicingSettings,
    *,
    number: str | None,
    kind: DocumentType,
    client: ClientRow,
    buyer: Party,
    lines: Sequence[DraftLine],
    issue_date: dt.date,
    period: str | None,
    references: Sequence[DocumentReference] = (),
    consumption: Sequence[ConsumptionLine] = (),
    reason: str | None = None,
    requested_by: str | None = None,
    run_id: str | None = None,
    tax_subtotals: Sequence[TaxSubtotal] | None = None,
    totals: Totals | None = None,
) -> Document:
    breakdown = list(tax_subtotals) if tax_subtotals is not None else tax_breakdown(lines)
    return Document(
        id=uuid.uuid4(),
        number=number,
        type=kind,
        issue_date=issue_date,
        due_date=issue_date + dt.timedelta(days=client.payment_terms_days),
        period=period,
        currency=client.currency,
        language=client.language,
        seller=settings.seller(),
        buyer=buyer,
        lines=to_document_lines(lines),
        tax_breakdown=breakdown,
        totals=totals if totals is not None else document_totals(lines, breakdown),
        references=list(references),
        consumption=list(consumption),
        payment_terms_days=client.payment_terms_days,
        reason=reason,
        requested_by=requested_by,
        run_id=uuid.UUID(run_id) if run_id else None,
    )


async def issue_built_document(
    uow: InvoicingUnitOfWork,
    settings: InvoicingSettings,
    *,
    kind: DocumentType,
    client: ClientRow,
    issue_date: dt.date,
    build: Callable[[str], Document],
) -> tuple[DocumentRow, Document]:
    """Number, store and publish a document whose content a domain rule built (a credit note).

    `build` receives the number and returns the finished Document; the stored row mirrors it, so
    its totals, references, reason and requester are exactly those of the published event.
    """
    if kind is DocumentType.PREVIEW:
        raise ValueError("a preview carries no number; use issue_document")
    (number,) = await take_numbers(uow, settings, kind, issue_date.year)
    document = build(number)
    if document.number is None or document.type is not kind or document.issue_date != issue_date:
        raise ValueError("the built document does not carry the number, type and date it was given")
    row = await uow.documents.add(document, client)
    _publish(uow, kind, document, document.number, own_trace=False)
    count_issued(uow, kind)
    return row, document
