"""Method B: a proforma for a client, created at once, outside any billing run.

Its lines are free (a label, a quantity, a price, a VAT rate), and a price may be negative: that is
how the user guide issues a quick partial credit ("-50.00"). A line that names a catalog article
takes its accounting account and kind from it, and then follows the catalog's sign rule: a negative
amount only on a credit_note article. The proforma is numbered in its own series and published
(proforma.created) in the same transaction; it is never e-mailed automatically (notification
skips proformas), only on request (POST /proformas/{number}/send).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.orm import ArticleRow, DocumentRow
from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.domain.errors import InvalidBillingItem
from ledgerline_invoicing.domain.lines import DraftLine
from ledgerline_invoicing.domain.money import check_vat_rate, line_net
from ledgerline_invoicing.entrypoints.schemas import ProformaIn, ProformaLineIn
from ledgerline_invoicing.service.errors import NotFound
from ledgerline_invoicing.service.folder import get_article, get_client
from ledgerline_invoicing.service.issuing import issue_document
from ledgerline_shared.contracts.document import Document, DocumentType, LineKind
from ledgerline_shared.runtime import ServiceRuntime

NEGATIVE_ON_ARTICLE = "a negative amount is allowed only on a credit_note article"


async def create_proforma(
    session: AsyncSession,
    runtime: ServiceRuntime,
    settings: InvoicingSettings,
    *,
    client_id: str,
    data: ProformaIn,
    requested_by: str,
    issue_date: dt.date | None = None,
) -> tuple[DocumentRow, Document]:
    client = await get_client(session, client_id)
    lines = [await _draft(session, index, line) for index, line in enumerate(data.lines)]
    return await issue_document(
        session,
        runtime,
        settings,
        kind=DocumentType.PROFORMA,
        client=client,
        lines=lines,
        issue_date=issue_date or dt.date.today(),
        reason=data.reason,
        requested_by=requested_by,
    )


async def get_proforma(session: AsyncSession, number: str) -> DocumentRow:
    row = await session.scalar(
        select(DocumentRow).where(
            DocumentRow.number == number, DocumentRow.type == DocumentType.PROFORMA.value
        )
    )
    if row is None:
        raise NotFound("proforma", number, "number")
    return row


async def _draft(session: AsyncSession, index: int, line: ProformaLineIn) -> DraftLine:
    where = f"lines.{index}"
    rate = check_vat_rate(line.vat_rate, f"{where}.vat_rate")
    kind, account = LineKind.MANUAL, None
    if line.article_code is not None:
        article: ArticleRow = await get_article(session, line.article_code, f"{where}.article_code")
        if line_net(line.quantity, line.unit_price) < 0 and article.kind != "credit_note":
            raise InvalidBillingItem(f"{where}.unit_price", NEGATIVE_ON_ARTICLE)
        kind, account = LineKind(article.kind), article.accounting_account
    return DraftLine(
        label=line.label,
        quantity=line.quantity,
        unit_price=line.unit_price,
        vat_rate=rate,
        kind=kind,
        article_code=line.article_code,
        accounting_account=account,
    )
