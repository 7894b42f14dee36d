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

from ledgerline_invoicing.adapters.orm import DocumentRow
from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.domain.articles import ArticlePlace, check_article_place, check_sign
from ledgerline_invoicing.domain.lines import DraftLine
from ledgerline_invoicing.domain.money import check_vat_rate, line_net
from ledgerline_invoicing.service.commands import CreateProforma, ProformaLine
from ledgerline_invoicing.service.folder import existing_article, existing_client
from ledgerline_invoicing.service.issuing import issue_document
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_shared.contracts.document import Document, DocumentType, LineKind


async def create_proforma(
    uow: InvoicingUnitOfWork, settings: InvoicingSettings, cmd: CreateProforma
) -> tuple[DocumentRow, Document]:
    async with uow:
        client = await existing_client(uow, cmd.client_id)
        lines = [await _draft(uow, index, line) for index, line in enumerate(cmd.lines)]
        issued = await issue_document(
            uow,
            settings,
            kind=DocumentType.PROFORMA,
            client=client,
            lines=lines,
            issue_date=cmd.issue_date or dt.date.today(),
            reason=cmd.reason,
            requested_by=cmd.requested_by,
        )
        await uow.commit()
    return issued


async def _draft(uow: InvoicingUnitOfWork, index: int, line: ProformaLine) -> DraftLine:
    where = f"lines.{index}"
    rate = check_vat_rate(line.vat_rate, f"{where}.vat_rate")
    kind, account = LineKind.MANUAL, None
    if line.article_code is not None:
        article = await existing_article(uow, line.article_code, f"{where}.article_code")
        check_article_place(ArticlePlace.PROFORMA_LINE, article.code, article.kind, f"{where}.article_code")
        check_sign(article.kind, line_net(line.quantity, line.unit_price), f"{where}.unit_price")
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
