"""One active outbox relay per service, the others standing by (several instances on one PostgreSQL).

Why one publisher rather than relays sharing the rows (SELECT ... FOR UPDATE SKIP LOCKED): a relay
publishes a batch in id order, and two relays taking disjoint batches at once could put a key's later
event on its partition before its earlier one. One active relay keeps the per-key order by
construction, and publishes each row once.

The active relay holds a PostgreSQL session advisory lock (`pg_try_advisory_lock`) on a connection of
its own, outside any transaction. PostgreSQL releases the lock when that session ends: an instance that
dies (kill -9, its host lost) lets a standby take over at its next poll, with no lease to wait out.
The holder checks its connection at every pass (it reads the pass's rows on it); should the connection
be lost while a pass is being published, a standby may publish the same rows again: consumers drop
the copy by its ce_id, and the order a consumer first sees a key's events in stays the id order
(every relay publishes the oldest unsent rows first, and marks a row sent only once Kafka
acknowledged it). On SQLite (one process) the relay is always active.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import structlog
from sqlalchemy import Row, Select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = structlog.get_logger(__name__)


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for `name` (a service's outbox)."""
    return int.from_bytes(
        hashlib.sha256(f"ledgerline-outbox-relay:{name}".encode()).digest()[:8], "big", signed=True
    )


class ActivePublisher:
    """Whether this relay is the service's active publisher; `acquire()` before every pass."""

    def __init__(self, engine: AsyncEngine | None, name: str) -> None:
        self._engine = engine if engine is not None and engine.dialect.name == "postgresql" else None
        self._key = lock_key(name)
        self._name = name
        self._connection: AsyncConnection | None = None

    @property
    def locking(self) -> bool:
        """Whether publishing needs the lock (PostgreSQL); on SQLite every relay is active."""
        return self._engine is not None

    @property
    def active(self) -> bool:
        return self._engine is None or self._connection is not None

    async def acquire(self) -> bool:
        """True when this relay may publish: it holds the lock (still), or has just taken it."""
        if self._engine is None:
            return True
        if self._connection is not None:
            try:
                await self._connection.execute(text("SELECT 1"))
                return True
            except Exception as exc:  # the session is gone, and the lock with it
                log.warning("outbox relay lost its publisher lock", service=self._name, error=str(exc))
                await self._discard()
        connection = await self._engine.connect()
        try:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            taken = await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key})
        except BaseException:
            await connection.close()
            raise
        if not taken:
            await connection.close()  # back to the pool: it holds no lock
            return False
        self._connection = connection
        log.info("outbox relay is the active publisher", service=self._name)
        return True

    async def read(self, statement: Select[Any]) -> Sequence[Row[Any]] | None:
        """`statement` on the lock's own session, when this relay holds the lock (PostgreSQL): one
        round trip both proves that session, and the lock with it, still there and reads the pass's
        rows, where `acquire()` then a pooled read session would take five (the lock check, the
        pool's ping, BEGIN, the SELECT, ROLLBACK) at every poll. None when there is no such session
        (SQLite, the lock not taken yet, or just lost): `acquire()`, then read as usual."""
        if self._connection is None:
            return None
        try:
            rows: Sequence[Row[Any]] = (await self._connection.execute(statement)).all()
            return rows
        except Exception as exc:  # the session is gone, and the lock with it
            log.warning("outbox relay lost its publisher lock", service=self._name, error=str(exc))
            await self._discard()
            return None

    async def release(self) -> None:
        """At a clean stop: unlock, so that a standby takes over at its next poll."""
        if self._connection is None:
            return
        try:
            await self._connection.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
            await self._connection.close()
            self._connection = None
        except Exception:
            await self._discard()

    async def _discard(self) -> None:
        """Drop the lock's connection without returning it to the pool (a pooled session keeping an
        advisory lock would hold it for whoever borrows it next)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await connection.invalidate()
                await connection.close()
            except Exception:
                pass
