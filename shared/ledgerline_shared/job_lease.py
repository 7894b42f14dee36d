"""The lease of a job row (a billing run, an export job) in SQL: the columns, the claim condition, and
the watcher that takes up orphaned jobs. The rule itself is ledgerline_shared/lease.py (pure); the
conditions below say the same in SQL, for the repositories' conditional UPDATEs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable

import structlog
from sqlalchemy import ColumnElement, DateTime, String, or_
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Mapped, mapped_column

log = structlog.get_logger(__name__)


class LeaseColumns:
    """Mixin of a job's ORM row: the instance holding it, and until when (renewed while it runs)."""

    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


def unheld(row: type[LeaseColumns], now: dt.datetime) -> ColumnElement[bool]:
    """Nobody holds the job: never claimed, released, or its lease expired (`Lease.expired`)."""
    return or_(row.lease_expires_at.is_(None), row.lease_expires_at <= now)


def claimable(row: type[LeaseColumns], claimant: str, now: dt.datetime) -> ColumnElement[bool]:
    """`Lease.may_take`: nobody holds it, its lease expired, or it is the claimant's own."""
    return or_(row.lease_owner.is_(None), row.lease_owner == claimant, unheld(row, now))


def matched_one(result: object) -> bool:
    """A conditional UPDATE of one row by its id matched it (the claim or renewal held)."""
    assert isinstance(result, CursorResult)
    return int(result.rowcount) == 1


async def watch(
    period_s: float, look: Callable[[], Awaitable[None]], what: str, stopping: asyncio.Event
) -> None:
    """Every `period_s` (the heartbeat), `look` for jobs nobody holds and take them up, until
    `stopping` is set. Ended that way rather than cancelled, a look is never cut off inside its
    transaction (on SQLite a statement cut off in its thread could keep the write lock)."""
    while True:
        try:
            await asyncio.wait_for(stopping.wait(), period_s)
            return
        except TimeoutError:
            pass
        try:
            await look()
        except Exception as exc:  # the database away: try again at the next beat
            log.warning(f"looking for orphaned {what} failed", error=f"{type(exc).__name__}: {exc}")
