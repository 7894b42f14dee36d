"""Schema migrations of the export database (Alembic, its own history)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ledgerline_shared.migrations import upgrade

MIGRATIONS = Path(__file__).with_name("migrations")


def migrate(url: str) -> None:
    upgrade(MIGRATIONS, url)


def as_utc(at: dt.datetime) -> dt.datetime:
    """A stored time as an aware UTC datetime: SQLite hands back naive ones, and all stored are UTC."""
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
