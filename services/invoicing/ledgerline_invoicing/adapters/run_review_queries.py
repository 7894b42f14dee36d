"""What the review of a preview run reads (issue 15), in a few set queries whatever the run's size.

Each per-client query selects the run's clients through a subquery on the run's previews, so no
statement carries one parameter per client.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.orm import (
    ArticleRow,
    BillingRunRow,
    CallRecordRow,
    ClientRow,
    ContactRow,
    DocumentRow,
    OneTimeItemRow,
    SubscriptionRow,
)


def _run_clients(run_id: str) -> Any:
    return select(DocumentRow.client_id).where(DocumentRow.run_id == run_id, DocumentRow.type == "preview")


class RunReviewQueries:
    """What the review of a preview run reads."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def run_previews(self, run_id: str) -> Sequence[Any]:
        """The run's previews still stored (a later preview run of the same clients replaces them)."""
        session = self._session
        result = await session.execute(
            select(
                DocumentRow.id,
                DocumentRow.client_id,
                DocumentRow.client_code,
                DocumentRow.client_name,
                DocumentRow.currency,
                DocumentRow.gross_total,
                DocumentRow.body,
            )
            .where(DocumentRow.run_id == run_id, DocumentRow.type == "preview")
            .order_by(DocumentRow.client_code, DocumentRow.id)
        )
        return result.all()

    async def active_subscriptions(
        self, run_id: str, first_day: dt.date, last_day: dt.date
    ) -> dict[str, int]:
        """Subscriptions touching the period, per client of the run."""
        session = self._session
        result = await session.execute(
            select(SubscriptionRow.client_id, func.count())
            .where(
                SubscriptionRow.client_id.in_(_run_clients(run_id)),
                SubscriptionRow.start_date <= last_day,
                or_(SubscriptionRow.end_date.is_(None), SubscriptionRow.end_date >= first_day),
            )
            .group_by(SubscriptionRow.client_id)
        )
        return {client_id: int(count) for client_id, count in result.all()}

    async def period_call_records(self, run_id: str, period: str) -> dict[str, int]:
        """Call records of the period (billed or not), per client of the run."""
        session = self._session
        result = await session.execute(
            select(ClientRow.id, func.count(CallRecordRow.id))
            .join(
                CallRecordRow, and_(CallRecordRow.account == ClientRow.code, CallRecordRow.period == period)
            )
            .where(ClientRow.id.in_(_run_clients(run_id)))
            .group_by(ClientRow.id)
        )
        return {client_id: int(count) for client_id, count in result.all()}

    async def invoice_recipients(self, run_id: str) -> dict[str, int]:
        session = self._session
        result = await session.execute(
            select(ContactRow.client_id, func.count())
            .where(ContactRow.client_id.in_(_run_clients(run_id)), ContactRow.invoice_recipient.is_(True))
            .group_by(ContactRow.client_id)
        )
        return {client_id: int(count) for client_id, count in result.all()}

    async def every_cycle_credits(self, run_id: str) -> dict[str, list[tuple[Decimal, Decimal]]]:
        """Active credit-note items repeated every cycle: (quantity, unit price) per client of the run."""
        session = self._session
        result = await session.execute(
            select(
                OneTimeItemRow.client_id,
                OneTimeItemRow.quantity,
                func.coalesce(OneTimeItemRow.unit_price, ArticleRow.unit_price),
            )
            .join(ArticleRow, ArticleRow.code == OneTimeItemRow.article_code)
            .where(
                OneTimeItemRow.client_id.in_(_run_clients(run_id)),
                OneTimeItemRow.active.is_(True),
                OneTimeItemRow.repeat == "every_cycle",
                ArticleRow.kind == "credit_note",
            )
        )
        credits: dict[str, list[tuple[Decimal, Decimal]]] = defaultdict(list)
        for client_id, quantity, price in result.all():
            credits[client_id].append((Decimal(quantity), Decimal(price)))
        return credits

    async def past_invoices(self, run_id: str, period: str, per_client: int) -> dict[str, list[Any]]:
        """The last `per_client` invoices of earlier periods of each client of the run, newest first."""
        session = self._session
        rank = (
            func.row_number()
            .over(
                partition_by=DocumentRow.client_id,
                order_by=(
                    DocumentRow.period.desc(),
                    DocumentRow.issue_date.desc(),
                    DocumentRow.number.desc(),
                ),
            )
            .label("rank")
        )
        ranked = (
            select(
                DocumentRow.client_id,
                DocumentRow.number,
                DocumentRow.period,
                DocumentRow.currency,
                DocumentRow.gross_total,
                DocumentRow.body,
                rank,
            )
            .where(
                DocumentRow.client_id.in_(_run_clients(run_id)),
                DocumentRow.type == "invoice",
                DocumentRow.period < period,
            )
            .subquery()
        )
        result = await session.execute(
            select(ranked).where(ranked.c.rank <= per_client).order_by(ranked.c.client_id, ranked.c.rank)
        )
        history: dict[str, list[Any]] = defaultdict(list)
        for row in result.all():
            history[row.client_id].append(row)
        return history

    async def period_invoices(self, period: str) -> tuple[str | None, list[Any]]:
        """The invoices production runs issued for a period, with the last such run's id."""
        session = self._session
        last_run = await session.scalar(
            select(BillingRunRow.id)
            .where(
                BillingRunRow.period == period,
                BillingRunRow.mode == "production",
                BillingRunRow.status == "completed",
            )
            .order_by(BillingRunRow.created_at.desc())
            .limit(1)
        )
        result = await session.execute(
            select(DocumentRow.number, DocumentRow.currency, DocumentRow.body).where(
                DocumentRow.period == period, DocumentRow.type == "invoice", DocumentRow.run_id.is_not(None)
            )
        )
        return last_run, list(result.all())
