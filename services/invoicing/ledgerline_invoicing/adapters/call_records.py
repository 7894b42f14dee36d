"""Call records as stored: the bulk paths that store a rated batch (COPY on PostgreSQL).

The stored columns are in STORED_COLUMNS order: a batch's rows are tuples, built by the service's
rating (service/usage.py) as the rows are sent, and sent in COPY's text format (`copy_line`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

import asyncpg
from sqlalchemy import text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.orm import CallRecordRow

STORED_COLUMNS = (
    "cdr_id",
    "account",
    "started_at",
    "period",
    "kind",
    "duration_s",
    "units",
    "caller",
    "callee",
    "client_id",
    "destination",
    "prefix",
    "unit_price",
    "connection_fee",
    "billable_s",
    "cost",
    "unratable_reason",
)
CDR_ID = 0
STARTED_AT = 2
UNRATABLE_REASON = len(STORED_COLUMNS) - 1


# COPY's text format (PostgreSQL docs, "COPY", File Formats): tab-separated, \N for NULL, and a
# backslash, tab, newline or carriage return inside a value written as a backslash escape.
_NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_LINES_PER_MESSAGE = 1000  # ~150 kB: the server stores a part while the next one is rated


def _utc_text(instant: dt.datetime) -> str:
    """The instant in UTC, as PostgreSQL reads it whatever the record's offset: Python allows offsets
    up to ±23:59:59.999999, PostgreSQL's input ±15:59:59 in whole seconds."""
    try:
        return instant.astimezone(dt.UTC).isoformat()
    except OverflowError:
        # UTC falls a day outside Python's years 1-9999 (an offset past ±15:59 on their edge):
        # convert 400 years away (one Gregorian cycle, the same calendar) and write the true year.
        shift = 400 if instant.year < 5000 else -400
        utc = instant.replace(year=instant.year + shift).astimezone(dt.UTC)
        year, rest = utc.year - shift, utc.isoformat()[4:]
        return f"{year:04d}{rest}" if year > 0 else f"{1 - year:04d}{rest} BC"


def _text_cell(value: Any) -> str:
    if value is None:
        return _NULL
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, dt.datetime):
        return _utc_text(value)
    return str(value)  # int, Decimal: their str() is what PostgreSQL's input reads back exactly


def copy_line(row: StoredRow) -> str:
    """A stored row as one line of COPY's text format (without its newline).

    Text rather than the driver's binary COPY: asyncpg's numeric encoder costs more than the rating
    of a record (three prices per row), while str() of a Decimal is cheap and PostgreSQL, on its own
    core, reads the text back (the stored values are the same: test_call_record_copy_postgres.py).
    A rated row whose free-text values hold nothing to escape (the usual case) is written by one
    f-string; any other row cell by cell.
    """
    (cdr_id, account, started, period, kind, duration, units, caller, callee,
     client_id, destination, prefix, unit_price, fee, billable, cost, reason) = row  # fmt: skip
    if reason is None and destination is not None:
        # isprintable() is False for tab, newline and carriage return (and other control characters).
        free_text = cdr_id + account + caller + callee + destination
        instant = started.isoformat()
        # An offset of whole minutes within ±15:59 (every real time zone's) is PostgreSQL's to read.
        if (
            free_text.isprintable()
            and "\\" not in free_text
            and instant[-6] in "+-"
            and instant[-5:-3] < "16"
        ):
            return (
                f"{cdr_id}\t{account}\t{instant}\t{period}\t{kind}\t"
                f"{_NULL if duration is None else duration}\t{_NULL if units is None else units!s}\t"
                f"{caller}\t{callee}\t{client_id}\t{destination}\t{prefix}\t{unit_price!s}\t{fee!s}\t"
                f"{billable}\t{cost!s}\t{_NULL}"
            )
    return "\t".join(map(_text_cell, row))


async def _copy_text(rows: Iterable[StoredRow]) -> AsyncIterator[bytes]:
    """The rows in COPY's text format, a message of _LINES_PER_MESSAGE lines at a time."""
    lines: list[str] = []
    for row in rows:
        lines.append(copy_line(row))
        if len(lines) == _LINES_PER_MESSAGE:
            lines.append("")  # the last line's newline
            yield "\n".join(lines).encode()
            lines = []
    if lines:
        lines.append("")
        yield "\n".join(lines).encode()


async def _copy_rows(raw: Any, table: str, rows: Iterable[StoredRow]) -> None:
    await raw.copy_to_table(table, source=_copy_text(rows), columns=STORED_COLUMNS, format="text")


class _Record(Protocol):
    @property
    def cdr_id(self) -> str: ...


R = TypeVar("R", bound=_Record)
StoredRow = tuple[Any, ...]


class CallRecordRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def copy_call_records(
        self, records: Sequence[R], stored_row: Callable[[R], StoredRow]
    ) -> tuple[set[str], list[StoredRow]]:
        """Store a batch of records (each turned into its stored row by `stored_row`); a cdr_id
        stored already is left out. Returns the cdr_ids stored and the rows built.

        PostgreSQL: COPY, the rows rated as COPY sends them (`_store_by_copy`). SQLite: chunked
        INSERT ... ON CONFLICT DO NOTHING RETURNING, the instants converted to UTC (SQLite keeps
        no offset, and sorting a client's calls needs one time scale).
        """
        session = self._session
        if session.get_bind().dialect.name == "postgresql":
            return await _store_by_copy(session, records, stored_row)
        rows = [stored_row(r) for r in records]
        stmt = (
            sqlite_insert(CallRecordRow)
            .on_conflict_do_nothing(index_elements=["cdr_id"])
            .returning(CallRecordRow.cdr_id)
        )
        inserted: set[str] = set()
        for start in range(0, len(rows), 2000):
            chunk = [
                dict(zip(STORED_COLUMNS, row, strict=True), started_at=row[STARTED_AT].astimezone(dt.UTC))
                for row in rows[start : start + 2000]
            ]
            inserted.update((await session.execute(stmt, chunk)).scalars().all())
        return inserted, rows


async def _store_by_copy(
    session: AsyncSession, records: Sequence[R], stored_row: Callable[[R], StoredRow]
) -> tuple[set[str], list[StoredRow]]:
    """PostgreSQL: rate and COPY the batch straight into call_records; a cdr_id already stored is a
    duplicate. Returns the cdr_ids stored and their rows.

    Same outcome as the executemany path, several times faster: the rows travel in COPY's binary
    format, and are rated as COPY sends them (the driver sends every 512 kB, so the server stores
    the first rows while the next ones are rated). Each COPY runs under a savepoint:
    - first, the whole batch: a batch of new records, the usual case, is one statement;
    - if one of them is stored already (a batch sent again), the unique index stops the COPY and
      the savepoint undoes it; one indexed look-up then finds the cdr_ids stored, and the others
      are copied;
    - should another transaction store one of those in between, that COPY fails too and the
      batch goes the race-proof way (`_store_by_staging`).
    It runs on the session's own connection, so it is part of the caller's transaction.
    """
    raw = await _driver_connection(session)
    rows: list[tuple[Any, ...]] = []

    def rated_rows() -> Iterable[tuple[Any, ...]]:
        for record in records:
            row = stored_row(record)
            rows.append(row)
            yield row

    try:
        async with _savepoint(raw):
            await _copy_rows(raw, "call_records", rated_rows())
        return {row[CDR_ID] for row in rows}, rows
    except asyncpg.UniqueViolationError:
        pass
    stored = {
        r[0]
        for r in await raw.fetch(
            "SELECT cdr_id FROM call_records WHERE cdr_id = ANY($1::text[])", [r.cdr_id for r in records]
        )
    }
    rated = {row[CDR_ID]: row for row in rows}  # the COPY may have stopped before rating them all
    rows = [rated.get(r.cdr_id) or stored_row(r) for r in records if r.cdr_id not in stored]
    if not rows:
        return set(), []
    try:
        async with _savepoint(raw):
            await _copy_rows(raw, "call_records", rows)
    except asyncpg.UniqueViolationError:
        return await _store_by_staging(raw, rows), rows
    return {row[CDR_ID] for row in rows}, rows


async def _store_by_staging(raw: Any, rows: list[tuple[Any, ...]]) -> set[str]:
    """COPY into a session-local table, then one INSERT ... ON CONFLICT DO NOTHING (race-proof)."""
    columns = ", ".join(STORED_COLUMNS)
    # The columns' types without the constraints and the id sequence (ids are given by the insert).
    await raw.execute(
        "CREATE TEMP TABLE IF NOT EXISTS call_records_incoming ON COMMIT DELETE ROWS "
        f"AS SELECT {columns} FROM call_records WITH NO DATA"
    )
    await _copy_rows(raw, "call_records_incoming", rows)
    inserted = await raw.fetch(
        f"INSERT INTO call_records ({columns}) SELECT {columns} FROM call_records_incoming "
        "ON CONFLICT (cdr_id) DO NOTHING RETURNING cdr_id"
    )
    await raw.execute("TRUNCATE call_records_incoming")  # a second batch in the same transaction starts clean
    return {r[0] for r in inserted}


@asynccontextmanager
async def _savepoint(raw: Any) -> AsyncIterator[None]:
    """A savepoint on the driver's connection (the session's own savepoints are only emitted
    with the session's next statement, and the COPY does not go through the session)."""
    await raw.execute("SAVEPOINT call_records_copy")
    try:
        yield
    except BaseException:
        await raw.execute("ROLLBACK TO SAVEPOINT call_records_copy")
        raise
    await raw.execute("RELEASE SAVEPOINT call_records_copy")


async def _driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection of the session, inside the session's transaction.

    SQLAlchemy opens the transaction with its first statement: when the batch needed none (its
    clients and plans all known already), one is run, or the COPY would run outside of it.
    """
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    if not raw.is_in_transaction():
        await session.execute(text("SELECT 1"))
    return raw
