"""The shared unit of work: rows and events commit together or not at all; wakes run after commit."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from pydantic import BaseModel
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ledgerline_shared.db import make_engine, make_sessionmaker
from ledgerline_shared.messaging.tables import define_messaging_tables
from ledgerline_shared.unit_of_work import EventSink, NotInTransaction, UnitOfWork

metadata = MetaData()
tables = define_messaging_tables(metadata)
notes = Table("notes", metadata, Column("id", Integer, primary_key=True), Column("text", String(50)))


class Noted(BaseModel):
    text: str


class NoteRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, text: str) -> None:
        await self._session.execute(insert(notes).values(text=text))


class NotesUnitOfWork(UnitOfWork):
    notes: NoteRepository

    def _open(self, session: AsyncSession) -> None:
        self.notes = NoteRepository(session)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'uow.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


def _uow(engine: AsyncEngine, wakes: list[str]) -> NotesUnitOfWork:
    sink = EventSink(tables.outbox, "/ledgerline/test")
    return NotesUnitOfWork(make_sessionmaker(engine), sink, wake=lambda: wakes.append("wake"))


async def _counts(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as connection:
        rows = await connection.scalar(select(func.count()).select_from(notes))
        events = await connection.scalar(select(func.count()).select_from(tables.outbox))
    return int(rows or 0), int(events or 0)


async def test_rows_and_events_commit_together_then_the_relay_is_woken(engine: AsyncEngine) -> None:
    wakes: list[str] = []
    uow = _uow(engine, wakes)
    later: list[str] = []
    async with uow:
        await uow.notes.add("first")
        ce_ids = [
            uow.emit("note.added", "k1", Noted(text="first")),
            uow.emit("note.added", "k2", Noted(text="2")),
        ]
        uow.after_commit(lambda: later.append("job"))
        assert wakes == [] and later == []
        await uow.commit()
        assert later == ["job"] and wakes == ["wake"]
    assert await _counts(engine) == (1, 2)
    async with engine.connect() as connection:
        stored = (await connection.execute(select(tables.outbox).order_by(tables.outbox.c.id))).all()
    assert [row.ce_id for row in stored] == ce_ids  # written in the order emitted
    assert [row.key for row in stored] == ["k1", "k2"]
    assert json.loads(stored[0].payload) == {"text": "first"}
    assert ["ce_source", "/ledgerline/test"] in json.loads(stored[0].headers)


async def test_leaving_without_commit_keeps_nothing_and_wakes_nothing(engine: AsyncEngine) -> None:
    wakes: list[str] = []
    later: list[str] = []
    uow = _uow(engine, wakes)
    with pytest.raises(ValueError):
        async with uow:
            await uow.notes.add("lost")
            uow.emit("note.added", "k", Noted(text="lost"))
            uow.after_commit(lambda: later.append("job"))
            raise ValueError("a rule refused it")
    async with uow:  # the same unit of work opens a fresh transaction; no left-over events
        await uow.commit()
    assert await _counts(engine) == (0, 0)
    assert wakes == [] and later == []


async def test_joining_a_transaction_leaves_the_commit_to_its_owner(engine: AsyncEngine) -> None:
    owner_after_commit: list[Callable[[], None]] = []
    wakes: list[str] = []
    sink = EventSink(tables.outbox, "/ledgerline/test")
    async with make_sessionmaker(engine)() as session:
        async with session.begin():
            uow = NotesUnitOfWork.joining(session, sink, owner_after_commit, wake=lambda: wakes.append("w"))
            async with uow:
                await uow.notes.add("joined")
                uow.emit("note.added", "k", Noted(text="joined"))
                await uow.commit()
            assert wakes == [] and len(owner_after_commit) == 1  # the wake waits for the owner's commit
            assert session.in_transaction()
            await session.rollback()  # the owner (the consumer) decides: here, it rolls back
    assert await _counts(engine) == (0, 0)


async def test_a_unit_of_work_is_used_inside_its_block(engine: AsyncEngine) -> None:
    uow = _uow(engine, [])
    with pytest.raises(NotInTransaction):
        uow.emit("note.added", "k", Noted(text="x"))
    with pytest.raises(NotInTransaction):
        await uow.commit()
    reader = NotesUnitOfWork(make_sessionmaker(engine), uow._events, read_only=True)
    async with reader:
        with pytest.raises(NotInTransaction):
            reader.emit("note.added", "k", Noted(text="x"))


async def test_a_failed_savepoint_gives_back_its_rows_and_its_events(engine: AsyncEngine) -> None:
    wakes: list[str] = []
    uow = _uow(engine, wakes)
    async with uow:
        await uow.notes.add("kept")
        uow.emit("note.added", "kept", Noted(text="kept"))
        with pytest.raises(ValueError):
            async with uow.savepoint():
                await uow.notes.add("given back")
                uow.emit("note.added", "given back", Noted(text="given back"))
                raise ValueError("this client alone fails")
        await uow.commit()
    assert await _counts(engine) == (1, 1)
    async with engine.connect() as connection:
        assert await connection.scalar(select(tables.outbox.c.key)) == "kept"


class _Base(DeclarativeBase):
    metadata = metadata


class Memo(_Base):
    __tablename__ = "memos"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(50))


async def test_what_a_use_case_read_stays_readable_after_the_block(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    uow = _uow(engine, [])
    async with uow:
        uow.session.add(Memo(text="first"))
        await uow.commit()
    reader = NotesUnitOfWork(make_sessionmaker(engine), uow._events, read_only=True)
    async with reader:
        memo = (await reader.session.scalars(select(Memo))).one()
    # Leaving rolls back (nothing to undo here); the object was detached first, not expired, so its
    # attributes still read without a session (an expired one would raise DetachedInstanceError).
    assert memo.text == "first"
