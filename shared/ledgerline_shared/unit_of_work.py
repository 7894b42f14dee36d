"""The unit of work: one business transaction, the events it emits, and what runs after it commits.

A use case takes a service's unit of work (a subclass that names its repositories) and nothing else
from the runtime:

    async with uow:
        invoice = await uow.invoices.lock(number)
        ...                                   # the rule, in domain/
        uow.emit(CREDITNOTE_ISSUED, key=note.number, data=note)
        await uow.commit()                    # the rows and the events together; then wake the relay

Events are rows of the service's outbox written in the same transaction (messaging/outbox.py): they
reach Kafka if and only if the effect committed. `emit` only queues them; `commit` writes them in one
statement and commits. Leaving the block without `commit` rolls everything back.

A Kafka subscriber runs inside the transaction the idempotent consumer owns (it records the event's
ce_id there): it gets a unit of work made with `joining`, whose `commit` writes the events and leaves
committing, and the after-commit work, to the consumer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from pydantic import BaseModel
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledgerline_shared.messaging.outbox import outbox_row, write_outbox_rows


@dataclass(frozen=True)
class EventSink:
    """Where a service's events go: its outbox table, under its CloudEvents source."""

    outbox: Table
    source: str  # "/ledgerline/<service>"


class NotInTransaction(RuntimeError):
    """The unit of work was used outside `async with uow:`."""


class UnitOfWork:
    """Base of every service's unit of work. Subclasses build their repositories in `_open`."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession] | None,
        events: EventSink,
        *,
        wake: Callable[[], None] | None = None,
        read_only: bool = False,
    ) -> None:
        self._sessions = sessions
        self._events = events
        self._wake = wake  # the outbox relay's wake: publish now rather than at the next poll
        self._read_only = read_only
        self._session: AsyncSession | None = None
        self._joined: list[Callable[[], None]] | None = None  # the owner's after-commit list
        self._pending: list[dict[str, Any]] = []
        self._after_commit: list[Callable[[], None]] = []

    @classmethod
    def joining(
        cls,
        session: AsyncSession,
        events: EventSink,
        after_commit: list[Callable[[], None]],
        **kwargs: Any,
    ) -> Self:
        """A unit of work inside a transaction another owns (the idempotent consumer's)."""
        uow = cls(None, events, **kwargs)
        uow._session = session
        uow._joined = after_commit
        return uow

    # -- the transaction -------------------------------------------------------------------
    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise NotInTransaction("use the unit of work inside `async with uow:`")
        return self._session

    def _require_session(self) -> None:
        self.session  # noqa: B018  (the property raises outside `async with`)

    async def __aenter__(self) -> Self:
        if self._joined is None:
            if self._sessions is None:
                raise NotInTransaction("this unit of work has no session factory")
            self._session = self._sessions()
        self._pending = []
        self._after_commit = []
        self._open(self.session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._pending = []
        self._after_commit = []
        if self._joined is not None:
            return  # the owner rolls back or commits its own transaction
        session, self._session = self._session, None
        if session is not None:
            if exc_type is None:
                # The rows a use case returns stay readable once the session is gone: the rollback
                # below (a no-op after commit) would otherwise expire what a read-only unit read.
                session.expunge_all()
            try:
                await session.rollback()  # a no-op after commit; undoes anything left uncommitted
            finally:
                await session.close()

    def _open(self, session: AsyncSession) -> None:
        """Build the repositories on this transaction's session (subclasses)."""

    async def commit(self) -> None:
        """Write the queued events and commit; then run the after-commit work and wake the relay."""
        if self._read_only:
            raise NotInTransaction("a read-only unit of work does not commit")
        if self._pending:
            await write_outbox_rows(self.session, self._events.outbox, self._pending)
        callbacks = list(self._after_commit)
        if self._pending and self._wake is not None:
            callbacks.append(self._wake)
        self._pending = []
        self._after_commit = []
        if self._joined is not None:
            self._joined.extend(callbacks)  # the consumer runs them once its transaction committed
            return
        await self.session.commit()
        for callback in callbacks:
            callback()

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A nested transaction: if the block raises, its writes AND the events and after-commit work
        it queued are given back (a billing run's client rolled back alone must publish nothing)."""
        events, callbacks = len(self._pending), len(self._after_commit)
        try:
            async with self.session.begin_nested():
                yield
        except BaseException:
            del self._pending[events:]
            del self._after_commit[callbacks:]
            raise

    async def rollback(self) -> None:
        self._pending = []
        self._after_commit = []
        if self._joined is None:
            await self.session.rollback()

    # -- what the transaction sends out ----------------------------------------------------
    def emit(
        self,
        topic: str,
        key: str | None,
        data: BaseModel,
        subject: str | None = None,
        *,
        payload: str | None = None,
    ) -> str:
        """Queue an event for the outbox; it is written by `commit`. Returns its ce_id.

        `payload`: `data` as JSON (by alias) when the caller serialised it already."""
        if self._read_only:
            raise NotInTransaction("a read-only unit of work emits no events")
        self._require_session()
        row = outbox_row(
            source=self._events.source, topic=topic, key=key, data=data, subject=subject, payload=payload
        )
        self._pending.append(row)
        return str(row["ce_id"])

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this transaction has committed (start a job it created)."""
        self._require_session()
        self._after_commit.append(callback)
