"""An export job (spec 8): what was asked, where it stands, and what it produced.

A job is queued first, then running, then completed (with its file) or failed (with its error). A job
left queued or running by a stopped process is run again from the start at the next start.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

QUEUED = "queued"
RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
ACTIVE = (QUEUED, RUNNING)  # someone is (or was, before a restart) working on it


@dataclass(frozen=True)
class ExportJob:
    id: str
    kind: str  # excel | grouped_pdf | accounting
    format: str | None  # accounting: fec | datev | iif | xero | csv
    date_from: dt.date
    date_to: dt.date
    status: str
    done: int
    total: int
    requested_by_sub: str
    requested_by_email: str
    notify: bool  # send export.completed when done (always for accounting)
    created_at: dt.datetime
    rows: int | None = None
    path: str | None = None  # relative to the store root
    report: str | None = None
    error: str | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None

    @classmethod
    def queued(
        cls,
        job_id: str,
        *,
        kind: str,
        format: str | None,
        date_from: dt.date,
        date_to: dt.date,
        notify: bool,
        requested_by_sub: str,
        requested_by_email: str,
        at: dt.datetime,
    ) -> ExportJob:
        """A new job, not started. The guide's accounting report is always e-mailed to its requester."""
        return cls(
            id=job_id,
            kind=kind,
            format=format,
            date_from=date_from,
            date_to=date_to,
            status=QUEUED,
            done=0,
            total=0,
            requested_by_sub=requested_by_sub,
            requested_by_email=requested_by_email,
            notify=notify or kind == "accounting",
            created_at=at,
        )

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def percent(self) -> int:
        if self.status == COMPLETED:
            return 100
        return 100 * self.done // self.total if self.total else 0

    def with_progress(self, done: int, total: int) -> ExportJob:
        return replace(self, done=done, total=total)
