"""What invoicing consumes from Kafka (spec section 9).

Each handler runs inside the idempotent consumer's transaction (it records the event's ce_id there):
it makes a unit of work joining that transaction and calls the use case with a command.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.service import document_outcomes, run_approval
from ledgerline_invoicing.service.billing_runs import BillingRunner
from ledgerline_invoicing.service.commands import RecordDelivery, RequestBillingRun
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_invoicing.service.usage import ingest
from ledgerline_shared.contracts.events import (
    BillingRunRequested,
    DeliveryOutcome,
    DocumentRendered,
    UsageRecorded,
)
from ledgerline_shared.messaging.consumer import Handler, Inbound, PermanentError
from ledgerline_shared.runtime import ServiceRuntime
from ledgerline_shared.topics import (
    BILLING_RUN_REQUESTED,
    DOCUMENT_RENDERED,
    INVOICE_DELIVERED,
    INVOICE_DELIVERY_FAILED,
    USAGE_RECORDED,
)


def joined(
    runtime: ServiceRuntime, session: AsyncSession, after_commit: list[Callable[[], None]]
) -> InvoicingUnitOfWork:
    """A unit of work inside the consumer's transaction; its after-commit work runs once that commits."""
    return InvoicingUnitOfWork.joining(session, runtime.event_sink, after_commit)


def register(
    runtime: ServiceRuntime, runner: BillingRunner, settings: InvoicingSettings | None = None
) -> None:
    settings = settings or runner.settings

    async def on_usage(event: Inbound[UsageRecorded], session: AsyncSession) -> None:
        await ingest(joined(runtime, session, event.after_commit), event.data.records)

    async def on_billing_run(event: Inbound[BillingRunRequested], session: AsyncSession) -> None:
        command = RequestBillingRun(
            period=event.data.period,
            mode=event.data.mode.value,
            client_ids=event.data.client_ids,
            requested_by=event.envelope.source,
        )
        try:  # production passes the four-eyes gate: refused, the request is dead-lettered with why
            run_id = await run_approval.request_run(
                joined(runtime, session, event.after_commit), settings, command
            )
        except run_approval.ApprovalRequired as refused:
            raise PermanentError(f"billing run refused: {refused.message}") from refused
        event.after_commit.append(lambda: runner.start(run_id))

    async def on_rendered(event: Inbound[DocumentRendered], session: AsyncSession) -> None:
        data = event.data
        await document_outcomes.record_rendered(
            joined(runtime, session, event.after_commit),
            data.number,
            str(data.document_id),
            data.generation_count,
        )

    def on_delivery(status: str) -> Handler[DeliveryOutcome]:
        async def handle(event: Inbound[DeliveryOutcome], session: AsyncSession) -> None:
            data = event.data
            command = RecordDelivery(
                number=data.number,
                request_id=data.request_id,
                status=status,
                to=tuple(data.to),
                at=data.at,
                detail=data.error or data.smtp_response,
            )
            await document_outcomes.record_delivery(joined(runtime, session, event.after_commit), command)

        return handle

    runtime.subscribe(USAGE_RECORDED, on_usage)
    runtime.subscribe(BILLING_RUN_REQUESTED, on_billing_run)
    runtime.subscribe(DOCUMENT_RENDERED, on_rendered)
    runtime.subscribe(INVOICE_DELIVERED, on_delivery("delivered"))
    runtime.subscribe(INVOICE_DELIVERY_FAILED, on_delivery("failed"))
