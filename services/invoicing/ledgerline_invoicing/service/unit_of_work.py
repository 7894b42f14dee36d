"""Invoicing's unit of work: one business transaction over its repositories (shared base).

Entrypoints build it: an HTTP route from the runtime (`runtime.sessions`, `runtime.event_sink`,
`wake=runtime.relay.wake`), a Kafka subscriber with `InvoicingUnitOfWork.joining(session, ...)` inside
the idempotent consumer's transaction, the billing runner from a factory. Use cases take it and
nothing else from the runtime.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.billing_claims import BillingClaims
from ledgerline_invoicing.adapters.billing_inputs import BillingInputs
from ledgerline_invoicing.adapters.billing_runs import BillingRunRepository
from ledgerline_invoicing.adapters.call_records import CallRecordRepository
from ledgerline_invoicing.adapters.catalog import CatalogRepository
from ledgerline_invoicing.adapters.clients import ClientRepository
from ledgerline_invoicing.adapters.document_queries import DocumentQueries
from ledgerline_invoicing.adapters.documents import DocumentRepository, ProcessedRequests
from ledgerline_invoicing.adapters.number_sequence import NumberSequence
from ledgerline_invoicing.adapters.orm import messaging
from ledgerline_invoicing.adapters.run_approval_store import RunApprovals
from ledgerline_invoicing.adapters.run_review_queries import RunReviewQueries
from ledgerline_shared.unit_of_work import UnitOfWork


class InvoicingUnitOfWork(UnitOfWork):
    """The session, invoicing's repositories, its outbox events and after-commit wakes."""

    clients: ClientRepository  # clients, contacts, subscriptions, one-time items: the client folder
    catalog: CatalogRepository  # articles and rate plans
    documents: DocumentRepository  # invoices, credit notes, proformas, previews
    queries: DocumentQueries  # the read views of documents and their call records
    numbers: NumberSequence  # the gapless (series, year) counters
    runs: BillingRunRepository
    billing_inputs: BillingInputs  # what a chunk of clients is billed from, read at once
    claims: BillingClaims  # what a production chunk locks and claims
    call_records: CallRecordRepository
    approvals: RunApprovals
    review: RunReviewQueries
    processed_requests: ProcessedRequests  # creditnote.requested's request_ids already applied

    def _open(self, session: AsyncSession) -> None:
        self.clients = ClientRepository(session)
        self.catalog = CatalogRepository(session)
        self.documents = DocumentRepository(session)
        self.queries = DocumentQueries(session)
        self.numbers = NumberSequence(session)
        self.runs = BillingRunRepository(session)
        self.billing_inputs = BillingInputs(session)
        self.claims = BillingClaims(session)
        self.call_records = CallRecordRepository(session)
        self.approvals = RunApprovals(session)
        self.review = RunReviewQueries(session)
        self.processed_requests = ProcessedRequests(session, messaging.processed)


UnitOfWorkFactory = Callable[[], InvoicingUnitOfWork]
