"""Alembic, one history per service: a shared env.py body and a programmatic `upgrade`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from ledgerline_shared.messaging.tables import PARKED_OUTBOX, parked_outbox_columns


def alembic_config(script_location: Path, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(script_location: Path, url: str) -> None:
    """Bring the database at `url` to the newest revision (safe to call at every start)."""
    command.upgrade(alembic_config(script_location, url), "head")


def run_env(metadata: MetaData) -> None:
    """The body of each service's env.py (online mode, async engines)."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None

    def do_run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    asyncio.run(run())


def create_parked_outbox() -> None:
    """Migration step shared by every service: the table of outbox rows the relay parked."""
    op.create_table(PARKED_OUTBOX, *parked_outbox_columns())


def drop_parked_outbox() -> None:
    op.drop_table(PARKED_OUTBOX)
