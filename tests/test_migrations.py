"""Each service's Alembic history has one head and builds the schema its tables describe.

Branches that each add a migration on the same parent merge without a conflict in git, and leave two
heads: `alembic upgrade head` (run by every service at start) then refuses to start. This catches it.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, create_engine

from ledgerline_shared.migrations import alembic_config, upgrade

SERVICES = ("invoicing", "rendering", "notification", "export")


def _migrations(service: str) -> Path:
    module = importlib.import_module(f"ledgerline_{service}.adapters.database")
    path: Path = module.MIGRATIONS
    return path


def _metadata(service: str) -> MetaData:
    module = importlib.import_module(f"ledgerline_{service}.adapters.orm")
    metadata: MetaData = module.Base.metadata
    return metadata


@pytest.mark.parametrize("service", SERVICES)
def test_history_has_one_head(service: str) -> None:
    script = ScriptDirectory.from_config(alembic_config(_migrations(service), "sqlite://"))
    assert len(script.get_heads()) == 1, f"{service}: heads {script.get_heads()}, chain the newest"


@pytest.mark.parametrize("service", SERVICES)
def test_upgrade_builds_the_tables_the_service_declares(service: str, tmp_path: Path) -> None:
    database = tmp_path / f"{service}.db"
    upgrade(_migrations(service), f"sqlite+aiosqlite:///{database}")
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            missing = [
                diff
                for diff in compare_metadata(context, _metadata(service))
                if isinstance(diff, tuple) and diff[0] in ("add_table", "add_column")
            ]
    finally:
        engine.dispose()
    assert missing == [], f"{service}: tables or columns no migration creates: {missing}"
