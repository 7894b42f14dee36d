"""Export jobs as rows of `export_jobs`: the only place that knows the table."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_export.adapters.orm import ExportJobRow
from ledgerline_export.domain.export_job import ACTIVE, COMPLETED, FAILED, QUEUED, RUNNING, ExportJob

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

    async def requeue_unfinished(self) -> list[str]:
        """Jobs a previous process left queued or running, queued again from the start."""
        ids = list(
            await self._session.scalars(select(ExportJobRow.id).where(ExportJobRow.status.in_(ACTIVE)))
        )
        if ids:
            await self._session.execute(
                update(ExportJobRow).where(ExportJobRow.id.in_(ids)).values(status=QUEUED, done=0)
            )
        return ids

    async def mark_running(self, job_id: str, total: int, at: dt.datetime) -> None:
        await self._session.execute(
            update(ExportJobRow)
            .where(ExportJobRow.id == job_id)
            .values(status=RUNNING, done=0, total=total, started_at=at)
        )

    async def save_progress(self, job_id: str, done: int, total: int) -> None:
        await self._session.execute(
            update(ExportJobRow)
            .where(ExportJobRow.id == job_id, ExportJobRow.status == RUNNING)
            .values(done=done, total=total)
        )

    async def mark_failed(self, job_id: str, error: str, at: dt.datetime) -> None:
        await self._session.execute(
            update(ExportJobRow)
            .where(ExportJobRow.id == job_id)
            .values(status=FAILED, error=error[:MAX_ERROR], finished_at=at)
        )

    async def mark_completed(
        self, job_id: str, *, done: int, total: int, rows: int, path: str, report: str, at: dt.datetime
    ) -> None:
        await self._session.execute(
            update(ExportJobRow)
            .where(ExportJobRow.id == job_id)
            .values(
                status=COMPLETED,
                done=done,
                total=total,
                rows=rows,
                path=path,
                report=report,
                finished_at=at,
            )
        )

    async def recent(self, limit: int = 20) -> list[ExportJob]:
        """The latest jobs first (the dashboard's table)."""
        rows = await self._session.scalars(
            select(ExportJobRow).order_by(ExportJobRow.created_at.desc()).limit(limit)
        )
        return [_job(row) for row in rows]
