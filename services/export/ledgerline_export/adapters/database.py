"""Schema migrations of the export database (Alembic, its own history)."""

from __future__ import annotations

from pathlib import Path

from ledgerline_shared.migrations import upgrade

MIGRATIONS = Path(__file__).with_name("migrations")


def migrate(url: str) -> None:
    upgrade(MIGRATIONS, url)
