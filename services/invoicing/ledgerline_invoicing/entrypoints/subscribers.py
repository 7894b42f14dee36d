"""What invoicing consumes from Kafka (spec section 9)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.orm import DeliveryRow, DocumentRow
from ledgerline_invoicing.service import run_approval
from ledgerline_invoicing.service.billing_runs import BillingRunner
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


def register(runtime: ServiceRuntime, runner: BillingRunner) -> None:
    async def on_usage(event: Inbound[UsageRecorded], session: AsyncSession) -> None:
        await ingest(session, event.data.records)

    async def on_billing_run(event: Inbound[BillingRunRequested], session: AsyncSession) -> None:
        try:  # production passes the four-eyes gate: refused, the request is dead-lettered with why
            run = await run_approval.request_run(
                session,
                runner.settings,
                event.data.period,
                event.data.mode.value,
                event.data.client_ids,
                event.envelope.source,
            )
        except run_approval.ApprovalRequired as refused:
            raise PermanentError(f"billing run refused: {refused.message}") from refused
        run_id = run.id
        event.after_commit.append(lambda: runner.start(run_id))

    async def on_rendered(event: Inbound[DocumentRendered], session: AsyncSession) -> None:
        # The blue number badge: how many versions rendering has made of the document.
        key = event.data.number or str(event.data.document_id)
        column = DocumentRow.number if event.data.number else DocumentRow.id
        await session.execute(
            update(DocumentRow)
            .where(column == key, DocumentRow.generation_count < event.data.generation_count)
            .values(generation_count=event.data.generation_count)
        )

    def on_delivery(status: str) -> Handler[DeliveryOutcome]:
        async def handle(event: Inbound[DeliveryOutcome], session: AsyncSession) -> None:
            data = event.data
            exists = await session.scalar(
                select(DeliveryRow.id).where(
                    DeliveryRow.number == data.number,
                    DeliveryRow.request_id == data.request_id,
                    DeliveryRow.status == status,
                )
            )
            if exists is None:
                session.add(
                    DeliveryRow(
                        number=data.number,
                        request_id=data.request_id,
                        status=status,
                        to=",".join(data.to),
                        at=data.at,
                        detail=data.error or data.smtp_response,
                    )
                )

        return handle

    runtime.subscribe(USAGE_RECORDED, on_usage)
    runtime.subscribe(BILLING_RUN_REQUESTED, on_billing_run)
    runtime.subscribe(DOCUMENT_RENDERED, on_rendered)
    runtime.subscribe(INVOICE_DELIVERED, on_delivery("delivered"))
    runtime.subscribe(INVOICE_DELIVERY_FAILED, on_delivery("failed"))
