"""Billing runs as stored: the job's row, its lease, its progress and its outcome.

The lease (shared/ledgerline_shared/lease.py) is claimed and renewed by conditional UPDATEs: of two
instances claiming one run at once, the database lets exactly one UPDATE match.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.orm import BillingRunRow, ClientRow
from ledgerline_shared.job_lease import claimable, matched_one, unheld
from ledgerline_shared.lease import Lease, lease_until

UNFINISHED = ("queued", "running")


class BillingRunRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, run: BillingRunRow) -> BillingRunRow:
        self._session.add(run)
        await self._session.flush()  # its id, for the caller to start it
        return run

    async def get(self, run_id: str) -> BillingRunRow | None:
        return await self._session.get(BillingRunRow, run_id)

    async def unfinished(self, now: dt.datetime) -> list[str]:
        """Runs queued or running that nobody holds: never started, or their holder's lease expired."""
        ids = await self._session.scalars(
            select(BillingRunRow.id)
            .where(BillingRunRow.status.in_(UNFINISHED), unheld(BillingRunRow, now))
            .order_by(BillingRunRow.created_at)
        )
        return list(ids.all())

    async def claim(self, run_id: str, owner: str, now: dt.datetime, lease_s: float) -> bool:
        """Take the run for `owner` if it is unfinished and `Lease.may_take` says so; False when
        another instance holds it (or it finished). The row is locked FOR UPDATE first: a takeover
        waits for the chunks the previous holder has in flight (they hold it FOR KEY SHARE)."""
        await self._session.execute(
            select(BillingRunRow.id).where(BillingRunRow.id == run_id).with_for_update()
        )
        result = await self._session.execute(
            update(BillingRunRow)
            .where(
                BillingRunRow.id == run_id,
                BillingRunRow.status.in_(UNFINISHED),
                claimable(BillingRunRow, owner, now),
            )
            .values(lease_owner=owner, lease_expires_at=lease_until(now, lease_s))
            .execution_options(synchronize_session=False)
        )
        return matched_one(result)

    async def renew(self, run_id: str, owner: str, now: dt.datetime, lease_s: float) -> bool:
        """The heartbeat: push the expiry on while `owner` still holds the run; False if it lost it."""
        result = await self._session.execute(
            update(BillingRunRow)
            .where(
                BillingRunRow.id == run_id,
                BillingRunRow.lease_owner == owner,
                BillingRunRow.status.in_(UNFINISHED),
            )
            .values(lease_expires_at=lease_until(now, lease_s))
            .execution_options(synchronize_session=False)
        )
        return matched_one(result)

    async def release(self, owner: str | None) -> None:
        """The unfinished runs `owner` holds (None: anyone) are left for the next instance at once:
        at a clean stop, or at the start of the only process there can be (SQLite)."""
        query = update(BillingRunRow).where(BillingRunRow.status.in_(UNFINISHED))
        if owner is not None:
            query = query.where(BillingRunRow.lease_owner == owner)
        await self._session.execute(query.values(lease_owner=None, lease_expires_at=None))

    async def lease_of(self, run_id: str) -> Lease:
        """The run's lease, its row FOR KEY SHARE until the transaction ends (PostgreSQL): a chunk
        checks it holds the run before billing, and no takeover (FOR UPDATE) commits until the chunk
        has; progress and heartbeats (plain UPDATEs) do not wait for it."""
        row = (
            await self._session.execute(
                select(BillingRunRow.lease_owner, BillingRunRow.lease_expires_at)
                .where(BillingRunRow.id == run_id)
                .with_for_update(read=True, key_share=True)
            )
        ).one_or_none()
        return Lease(None, None) if row is None else Lease(row.lease_owner, row.lease_expires_at)

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
        owner: str,
        done: int,
        documents: list[str],
        errors: list[dict[str, str]],
        report: dict[str, Any],
    ) -> bool:
        """The run completed, its lease released; False (nothing written) if `owner` lost it."""
        result = await self._session.execute(
            update(BillingRunRow)
            .where(BillingRunRow.id == run_id, BillingRunRow.lease_owner == owner)
            .values(
                status="completed",
                done=done,
                documents=documents,
                errors=errors,
                report=report,
                finished_at=dt.datetime.now(dt.UTC),
                lease_owner=None,
                lease_expires_at=None,
            )
            .execution_options(synchronize_session=False)
        )
        return matched_one(result)

    async def fail(self, run_id: str, errors: list[dict[str, str]], *, owner: str | None = None) -> None:
        """The run ends failed as a whole (also a queued run whose approval no longer stands); with
        `owner`, only while that instance still holds it."""
        query = update(BillingRunRow).where(BillingRunRow.id == run_id)
        if owner is not None:
            query = query.where(BillingRunRow.lease_owner == owner)
        await self._session.execute(
            query.values(
                status="failed",
                errors=errors,
                finished_at=dt.datetime.now(dt.UTC),
                lease_owner=None,
                lease_expires_at=None,
            )
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
