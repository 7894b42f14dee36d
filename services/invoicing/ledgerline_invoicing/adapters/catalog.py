"""The catalog: articles and rate plans, as stored."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.orm import ArticleRow, RatePlanRow


class CatalogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def article(self, code: str) -> ArticleRow | None:
        return await self._session.get(ArticleRow, code)

    async def articles(self) -> Sequence[ArticleRow]:
        return (await self._session.scalars(select(ArticleRow).order_by(ArticleRow.code))).all()

    async def add_article(self, article: ArticleRow) -> ArticleRow:
        self._session.add(article)
        await self._session.flush()
        return article

    async def save(self) -> None:
        """Write the changes made to rows read here."""
        await self._session.flush()

    async def first_usage_article(self) -> ArticleRow | None:
        """The catalog's first `usage` article by code: usage lines are booked under it."""
        return await self._session.scalar(
            select(ArticleRow).where(ArticleRow.kind == "usage").order_by(ArticleRow.code)
        )

    async def rate_plan(self, code: str) -> RatePlanRow | None:
        return await self._session.get(RatePlanRow, code)

    async def rate_plans(self, codes: Iterable[str] | None = None) -> Sequence[RatePlanRow]:
        """Every rate plan, or those of `codes`."""
        query = select(RatePlanRow)
        if codes is not None:
            query = query.where(RatePlanRow.code.in_(list(codes)))
        return (await self._session.scalars(query)).all()

    async def add_rate_plan(self, plan: RatePlanRow) -> RatePlanRow:
        self._session.add(plan)
        await self._session.flush()
        return plan
