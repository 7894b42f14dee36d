"""Billing runs as stored: the job's row, its progress and its outcome."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.orm import BillingRunRow, ClientRow


class BillingRunRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, run: BillingRunRow) -> BillingRunRow:
        self._session.add(run)
        await self._session.flush()  # its id, for the caller to start it
        return run

    async def get(self, run_id: str) -> BillingRunRow | None:
        return await self._session.get(BillingRunRow, run_id)

    async def unfinished(self) -> list[str]:
        """Runs left queued or running (by a restart)."""
        ids = await self._session.scalars(
            select(BillingRunRow.id).where(BillingRunRow.status.in_(["queued", "running"]))
        )
        return list(ids.all())

    async def clients_to_bill(self, wanted: Sequence[str] | None) -> list[str]:
        """The ids of the clients a run bills, by client code: all, or those wanted that exist."""
        query = select(ClientRow.id).order_by(ClientRow.code)
        if wanted:
            query = query.where(ClientRow.id.in_(wanted))
        return list((await self._session.scalars(query)).all())

    async def record_progress(self, run_id: str, done: int) -> None:
        await self._session.execute(update(BillingRunRow).where(BillingRunRow.id == run_id).values(done=done))

    async def complete(
        self,
        run_id: str,
        *,
        done: int,
        documents: list[str],
        errors: list[dict[str, str]],
        report: dict[str, Any],
    ) -> None:
        await self._session.execute(
            update(BillingRunRow)
            .where(BillingRunRow.id == run_id)
            .values(
                status="completed",
                done=done,
                documents=documents,
                errors=errors,
                report=report,
                finished_at=dt.datetime.now(dt.UTC),
            )
        )

    async def fail(self, run_id: str, errors: list[dict[str, str]]) -> None:
        """The run ends failed as a whole (also a queued run whose approval no longer stands)."""
        await self._session.execute(
            update(BillingRunRow)
            .where(BillingRunRow.id == run_id)
            .values(status="failed", errors=errors, finished_at=dt.datetime.now(dt.UTC))
        )

    async def recent(self, limit: int) -> Sequence[BillingRunRow]:
        runs = await self._session.scalars(
            select(BillingRunRow).order_by(BillingRunRow.created_at.desc()).limit(limit)
        )
        return runs.all()

    async def page(
        self, *, period: str | None, mode: str | None, page: int, page_size: int
    ) -> tuple[int, Sequence[BillingRunRow]]:
        """Billing runs, newest first."""
        query = select(BillingRunRow)
        if period:
            query = query.where(BillingRunRow.period == period)
        if mode:
            query = query.where(BillingRunRow.mode == mode)
        session = self._session
        total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = await session.scalars(
            query.order_by(BillingRunRow.created_at.desc(), BillingRunRow.id)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
        return int(total), rows.all()
