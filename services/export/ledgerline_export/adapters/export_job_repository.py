"""Export jobs as rows of `export_jobs`: the only place that knows the table.

A job is run by the instance holding its lease (shared/ledgerline_shared/lease.py), claimed and
renewed by conditional UPDATEs; its progress and outcome are written only while that instance holds it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_export.adapters.orm import ExportJobRow
from ledgerline_export.domain.export_job import ACTIVE, COMPLETED, FAILED, RUNNING, ExportJob
from ledgerline_shared.job_lease import claimable, matched_one, unheld
from ledgerline_shared.lease import lease_until

_FIELDS = tuple(f.name for f in dataclasses.fields(ExportJob))
MAX_ERROR = 2000


def _job(row: ExportJobRow) -> ExportJob:
    return ExportJob(**{name: getattr(row, name) for name in _FIELDS})


class ExportJobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, job: ExportJob) -> None:
        self._session.add(ExportJobRow(**dataclasses.asdict(job)))
        await self._session.flush()

    async def get(self, job_id: str) -> ExportJob | None:
        row = await self._session.get(ExportJobRow, job_id)
        return _job(row) if row is not None else None

    async def unclaimed(self, now: dt.datetime) -> list[str]:
        """Jobs queued or running that nobody holds: never started, or their holder's lease expired."""
        ids = await self._session.scalars(
            select(ExportJobRow.id)
            .where(ExportJobRow.status.in_(ACTIVE), unheld(ExportJobRow, now))
            .order_by(ExportJobRow.created_at)
        )
        return list(ids.all())

    async def claim(self, job_id: str, owner: str, now: dt.datetime, lease_s: float) -> bool:
        """Take the job for `owner` if it is active and `Lease.may_take` says so (nobody holds it,
        its lease expired, or it is the owner's own); False when another instance holds it."""
        result = await self._session.execute(
            update(ExportJobRow)
            .where(
                ExportJobRow.id == job_id,
                ExportJobRow.status.in_(ACTIVE),
                claimable(ExportJobRow, owner, now),
            )
            .values(lease_owner=owner, lease_expires_at=lease_until(now, lease_s))
            .execution_options(synchronize_session=False)
        )
        return matched_one(result)

    async def release(self, owner: str | None) -> None:
        """The active jobs `owner` holds (None: anyone) are left for the next instance at once: at a
        clean stop, or at the start of the only process there can be (SQLite)."""
        query = update(ExportJobRow).where(ExportJobRow.status.in_(ACTIVE))
        if owner is not None:
            query = query.where(ExportJobRow.lease_owner == owner)
        await self._session.execute(query.values(lease_owner=None, lease_expires_at=None))

    async def mark_running(self, job_id: str, total: int, at: dt.datetime) -> None:
        """Started (again, from the start, after a takeover) by the instance that just claimed it."""
        await self._session.execute(
            update(ExportJobRow)
            .where(ExportJobRow.id == job_id)
            .values(status=RUNNING, done=0, total=total, started_at=at)
        )

    async def save_progress(
        self, job_id: str, owner: str, done: int, total: int, renew_until: dt.datetime | None = None
    ) -> bool:
        """The job's progress, and its lease renewed when `renew_until` is given (the heartbeat);
        False when `owner` no longer holds it (another instance took it over)."""
        values: dict[str, object] = {"done": done, "total": total}
        if renew_until is not None:
            values["lease_expires_at"] = renew_until
        result = await self._session.execute(
            update(ExportJobRow)
            .where(
                ExportJobRow.id == job_id, ExportJobRow.status == RUNNING, ExportJobRow.lease_owner == owner
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return matched_one(result)

    async def mark_failed(self, job_id: str, owner: str, error: str, at: dt.datetime) -> None:
        """Failed, its lease released; only while `owner` holds it (or nobody does)."""
        await self._session.execute(
            update(ExportJobRow)
            .where(
                ExportJobRow.id == job_id,
                or_(ExportJobRow.lease_owner == owner, ExportJobRow.lease_owner.is_(None)),
            )
            .values(
                status=FAILED,
                error=error[:MAX_ERROR],
                finished_at=at,
                lease_owner=None,
                lease_expires_at=None,
            )
        )

    async def mark_completed(
        self,
        job_id: str,
        owner: str,
        *,
        done: int,
        total: int,
        rows: int,
        path: str,
        report: str,
        at: dt.datetime,
    ) -> bool:
        """Completed, its lease released; False (nothing written) when `owner` lost the job."""
        result = await self._session.execute(
            update(ExportJobRow)
            .where(
                ExportJobRow.id == job_id, ExportJobRow.status == RUNNING, ExportJobRow.lease_owner == owner
            )
            .values(
                status=COMPLETED,
                done=done,
                total=total,
                rows=rows,
                path=path,
                report=report,
                finished_at=at,
                lease_owner=None,
                lease_expires_at=None,
            )
            .execution_options(synchronize_session=False)
        )
        return matched_one(result)

    async def recent(self, limit: int = 20) -> list[ExportJob]:
        """The latest jobs first (the dashboard's table)."""
        rows = await self._session.scalars(
            select(ExportJobRow).order_by(ExportJobRow.created_at.desc()).limit(limit)
        )
        return [_job(row) for row in rows]
