"""What other services report about invoicing's documents: a rendering made, an e-mail's outcome."""

from __future__ import annotations

from ledgerline_invoicing.service.commands import RecordDelivery
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork


async def record_rendered(
    uow: InvoicingUnitOfWork, number: str | None, document_id: str, generation_count: int
) -> None:
    """The blue number badge: how many versions rendering has made of the document."""
    async with uow:
        if number:
            await uow.documents.record_generation(number, True, generation_count)
        else:  # a preview, addressed by its id
            await uow.documents.record_generation(document_id, False, generation_count)
        await uow.commit()


async def record_delivery(uow: InvoicingUnitOfWork, cmd: RecordDelivery) -> None:
    async with uow:
        await uow.documents.record_delivery(
            number=cmd.number,
            request_id=cmd.request_id,
            status=cmd.status,
            to=",".join(cmd.to),
            at=cmd.at,
            detail=cmd.detail,
        )
        await uow.commit()
