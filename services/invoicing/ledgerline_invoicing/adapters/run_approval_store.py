"""Approvals of preview runs, and the fingerprint of a period's billing inputs (issue 15)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.orm import (
    ArticleRow,
    BillingRunApprovalRow,
    CallRecordRow,
    DocumentRow,
    OneTimeItemRow,
    SubscriptionRow,
)
from ledgerline_invoicing.domain.run_approval import digest


class RunApprovals:
    """Approvals of preview runs and the fingerprints they approved."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def inputs_fingerprint(self, period: str) -> dict[str, str]:
        """What a run of `period` bills from: its call records still unbilled (counted: millions of rows;
        records are never changed but by billing), every subscription, one-time item and article (hashed
        row by row: a changed price or date shows)."""
        session = self._session
        count, last_id, unrated = (
            await session.execute(
                select(
                    func.count(), func.max(CallRecordRow.id), func.count(CallRecordRow.unratable_reason)
                ).where(CallRecordRow.period <= period, CallRecordRow.invoice_number.is_(None))
            )
        ).one()
        subscriptions = await session.execute(
            select(
                SubscriptionRow.id,
                SubscriptionRow.client_id,
                SubscriptionRow.article_code,
                SubscriptionRow.quantity,
                SubscriptionRow.unit_price,
                SubscriptionRow.start_date,
                SubscriptionRow.end_date,
            ).order_by(SubscriptionRow.id)
        )
        items = await session.execute(
            select(
                OneTimeItemRow.id,
                OneTimeItemRow.client_id,
                OneTimeItemRow.article_code,
                OneTimeItemRow.quantity,
                OneTimeItemRow.unit_price,
                OneTimeItemRow.label,
                OneTimeItemRow.repeat,
                OneTimeItemRow.active,
            ).order_by(OneTimeItemRow.id)
        )
        articles = await session.execute(
            select(
                ArticleRow.code, ArticleRow.kind, ArticleRow.unit_price, ArticleRow.vat_rate, ArticleRow.label
            ).order_by(ArticleRow.code)
        )
        return {
            "call_records": f"unbilled={count} max_id={last_id or 0} unrated={unrated}",
            "subscriptions": digest(subscriptions.all()),
            "one_time_items": digest(items.all()),
            "articles": digest(articles.all()),
        }

    async def previews_hash(self, run_id: str) -> tuple[int, str]:
        """How many previews of the run are stored, and a hash of them (id and content)."""
        session = self._session
        rows = (
            await session.execute(
                select(DocumentRow.id, DocumentRow.body)
                .where(DocumentRow.run_id == run_id, DocumentRow.type == "preview")
                .order_by(DocumentRow.id)
            )
        ).all()
        return len(rows), digest(rows)

    async def approvals_of_run(self, run_id: str) -> Sequence[BillingRunApprovalRow]:
        session = self._session
        rows = await session.scalars(
            select(BillingRunApprovalRow)
            .where(BillingRunApprovalRow.run_id == run_id)
            .order_by(BillingRunApprovalRow.approved_at.desc(), BillingRunApprovalRow.id)
        )
        return rows.all()

    async def latest_approval(self, period: str) -> BillingRunApprovalRow | None:
        """The period's latest approval: only it can admit a production run."""
        session = self._session
        return await session.scalar(
            select(BillingRunApprovalRow)
            .where(BillingRunApprovalRow.period == period)
            .order_by(BillingRunApprovalRow.approved_at.desc(), BillingRunApprovalRow.id.desc())
            .limit(1)
        )

    async def mark_admitted(self, approval_id: str, production_run_id: str) -> None:
        session = self._session
        await session.execute(
            update(BillingRunApprovalRow)
            .where(BillingRunApprovalRow.id == approval_id)
            .values(production_run_id=production_run_id)
        )

    async def add(self, approval: BillingRunApprovalRow) -> BillingRunApprovalRow:
        self._session.add(approval)
        await self._session.flush()  # its id and defaults, for the answer
        return approval
