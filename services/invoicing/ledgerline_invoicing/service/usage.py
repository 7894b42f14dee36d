"""Call-record ingestion: rate each record as it arrives, keep every one, ignore repeats.

Answer: {accepted, duplicates, rejected: [{cdr_id, reason}]}. A record that is stored but cannot be
rated (unknown account, no matching prefix...) is counted in `accepted` AND listed in `rejected`
with a reason starting "kept unrated:", so the sender sees it and the billing run reports it; a
malformed record (bad kind, no cdr_id) is not stored and listed with why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.orm import CallRecordRow, ClientRow, RatePlanRow
from ledgerline_invoicing.domain.rating import (
    CallKind,
    Increment,
    RatedCall,
    RatePlan,
    RateRule,
    rate_call,
)
from ledgerline_shared.contracts.events import CallRecord

MAX_BATCH = 10_000


@dataclass
class IngestionResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)

    def merge(self, other: IngestionResult) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}


def plan_from_row(row: RatePlanRow) -> RatePlan:
    from decimal import Decimal

    return RatePlan(
        row.code,
        [
            RateRule(
                prefix=r["prefix"],
                label=r["label"],
                kind=CallKind(r["kind"]),
                unit_price=Decimal(r["unit_price"]),
                connection_fee=Decimal(r.get("connection_fee") or "0"),
                increment=Increment.parse(r.get("increment") or "60/60"),
            )
            for r in row.rules
        ],
    )


class RatingContext:
    """Clients and plans looked up once per batch, not once per record."""

    def __init__(self) -> None:
        self.clients: dict[str, tuple[str, str | None] | None] = {}
        self.plans: dict[str, RatePlan | None] = {}

    async def load(self, session: AsyncSession, accounts: set[str]) -> None:
        missing = accounts - self.clients.keys()
        if missing:
            rows = await session.execute(
                select(ClientRow.code, ClientRow.id, ClientRow.rate_plan_code).where(
                    ClientRow.code.in_(missing)
                )
            )
            for code, client_id, plan_code in rows:
                self.clients[code] = (client_id, plan_code)
            for code in missing - self.clients.keys():
                self.clients[code] = None
        plan_codes = {c[1] for c in self.clients.values() if c and c[1]} - self.plans.keys()
        for row in (await session.scalars(select(RatePlanRow).where(RatePlanRow.code.in_(plan_codes)))).all():
            self.plans[row.code] = plan_from_row(row)


def _row(record: CallRecord, ctx: RatingContext) -> dict[str, Any]:
    client = ctx.clients.get(record.account)
    values: dict[str, Any] = {
        "cdr_id": record.cdr_id,
        "account": record.account,
        # Stored in UTC: SQLite keeps no offset, and sorting a client's calls needs one time scale.
        "started_at": record.started_at.astimezone(dt.UTC),
        # The month as the caller lived it: the record's own offset, not UTC.
        "period": record.started_at.strftime("%Y-%m"),
        "kind": record.kind.value,
        "duration_s": record.duration_s,
        "units": record.units,
        "caller": record.caller,
        "callee": record.callee,
        "client_id": client[0] if client else None,
        # Every row carries every column: one executemany needs the same keys in each parameter set.
        "destination": None,
        "prefix": None,
        "unit_price": None,
        "connection_fee": None,
        "billable_s": None,
        "cost": None,
        "unratable_reason": None,
    }
    if client is None:
        values["unratable_reason"] = "unknown account"
        return values
    result = rate_call(ctx.plans.get(client[1]) if client[1] else None, record)
    if isinstance(result, RatedCall):
        values.update(
            destination=result.label,
            prefix=result.prefix,
            unit_price=result.unit_price,
            connection_fee=result.connection_fee,
            billable_s=result.billable_s,
            cost=result.cost,
        )
    else:
        values["unratable_reason"] = result.reason
    return values


async def ingest(
    session: AsyncSession, records: Sequence[CallRecord], ctx: RatingContext | None = None
) -> IngestionResult:
    """Store and rate a batch in the caller's transaction; a cdr_id seen before is a duplicate."""
    ctx = ctx or RatingContext()
    result = IngestionResult()
    seen: set[str] = set()
    unique: list[CallRecord] = []
    for record in records:
        if record.started_at.utcoffset() is None:
            # Without its offset a record's month (and so its invoice) would be a guess.
            result.rejected.append(
                {"cdr_id": record.cdr_id, "reason": "started_at: an ISO 8601 offset is required"}
            )
            continue
        if record.cdr_id in seen:
            result.duplicates += 1
            continue
        seen.add(record.cdr_id)
        unique.append(record)
    if not unique:
        return result
    await ctx.load(session, {r.account for r in unique})
    rows = [_row(r, ctx) for r in unique]
    if session.get_bind().dialect.name == "postgresql":
        inserted = await _store_by_copy(session, rows)
    else:
        stmt = (
            sqlite_insert(CallRecordRow)
            .on_conflict_do_nothing(index_elements=["cdr_id"])
            .returning(CallRecordRow.cdr_id)
        )
        inserted = set()
        for start in range(0, len(rows), 2000):
            chunk = rows[start : start + 2000]
            inserted.update((await session.execute(stmt, chunk)).scalars().all())
    result.accepted = len(inserted)
    result.duplicates += len(rows) - len(inserted)
    for row in rows:
        if row["cdr_id"] in inserted and row.get("unratable_reason"):
            result.rejected.append(
                {"cdr_id": row["cdr_id"], "reason": f"kept unrated: {row['unratable_reason']}"}
            )
    return result


_COLUMNS = (
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


async def _store_by_copy(session: AsyncSession, rows: list[dict[str, Any]]) -> set[str]:
    """PostgreSQL: COPY the batch into a session-local table, then one INSERT ... ON CONFLICT DO NOTHING.

    Same outcome as the executemany path (a cdr_id already stored is a duplicate), several times
    faster: the rows travel in COPY's binary format and the insert is a single statement. It runs on
    the session's own connection, so it is part of the caller's transaction.
    """
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    columns = ", ".join(_COLUMNS)
    # The columns' types without the constraints and the id sequence (ids are given by the insert).
    await raw.execute(
        "CREATE TEMP TABLE IF NOT EXISTS call_records_incoming ON COMMIT DELETE ROWS "
        f"AS SELECT {columns} FROM call_records WITH NO DATA"
    )
    await raw.copy_records_to_table(
        "call_records_incoming", records=[tuple(row[c] for c in _COLUMNS) for row in rows], columns=_COLUMNS
    )
    inserted = await raw.fetch(
        f"INSERT INTO call_records ({columns}) SELECT {columns} FROM call_records_incoming "
        "ON CONFLICT (cdr_id) DO NOTHING RETURNING cdr_id"
    )
    await raw.execute("TRUNCATE call_records_incoming")  # a second batch in the same transaction starts clean
    return {r[0] for r in inserted}
