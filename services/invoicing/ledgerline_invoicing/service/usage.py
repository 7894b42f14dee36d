"""Call-record ingestion: rate each record as it arrives, keep every one, ignore repeats.

Answer: {accepted, duplicates, rejected: [{cdr_id, reason}]}. A record that is stored but cannot be
rated (unknown account, no matching prefix...) is counted in `accepted` AND listed in `rejected`
with a reason starting "kept unrated:", so the sender sees it and the billing run reports it; a
malformed record (bad kind, no cdr_id) is not stored and listed with why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ledgerline_invoicing.adapters.call_records import CDR_ID, UNRATABLE_REASON
from ledgerline_invoicing.adapters.orm import RatePlanRow
from ledgerline_invoicing.domain.rating import (
    UNKNOWN_ACCOUNT,
    Increment,
    RatePlan,
    RateRule,
    rate_fields,
)
from ledgerline_invoicing.service.call_record_parsing import CallFields
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_shared.contracts.events import CallKind, CallRecord

MAX_BATCH = 10_000  # records of one POST /usage (spec)
# A record is at most ~500 bytes of JSON (its fields' maximum lengths): a full batch fits in this.
MAX_BATCH_BYTES = MAX_BATCH * 1024
# One line of POST /usage.csv: eight fields, ~500 characters at most; longer is not a call record.
MAX_CSV_LINE_CHARS = 4096


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
    """A stored rate plan as the rating rules see it (their checks run on construction)."""
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


_NOT_RATED = (None, None, None, None, None, None)  # destination .. cost


_KIND_TEXT = {kind: kind.value for kind in CallKind}  # the enum's .value is a slow property


class RatingContext:
    """Clients and plans looked up once per batch, not once per record."""

    def __init__(self) -> None:
        self.clients: dict[str, tuple[str, str | None] | None] = {}
        self.plans: dict[str, RatePlan | None] = {}

    async def load(self, uow: InvoicingUnitOfWork, accounts: set[str]) -> None:
        missing = accounts - self.clients.keys()
        if missing:
            for code, client_id, plan_code in await uow.clients.by_accounts(missing):
                self.clients[code] = (client_id, plan_code)
            for code in missing - self.clients.keys():
                self.clients[code] = None
        plan_codes = {c[1] for c in self.clients.values() if c and c[1]} - self.plans.keys()
        if not plan_codes:
            return  # every plan needed is known already (the usual case after the first batch)
        for row in await uow.catalog.rate_plans(plan_codes):
            self.plans[row.code] = plan_from_row(row)

    def stored_row(self, record: CallRecord | CallFields) -> tuple[Any, ...]:
        """The record as stored, rated or with why not, a tuple in STORED_COLUMNS order
        (adapters/call_records.py).

        Built straight as a tuple from `rate_fields`' tuple: this runs once per record, and a dict or an
        object per record cost more than the rating itself.
        """
        cdr_id, account, started, kind = record.cdr_id, record.account, record.started_at, record.kind
        duration, units, callee = record.duration_s, record.units, record.callee
        # Stored as an instant: the driver sends it in UTC to PostgreSQL; the SQLite path converts it
        # (SQLite keeps no offset, and sorting a client's calls needs one time scale).
        # The month as the caller lived it: the record's own offset, not UTC (as strftime("%Y-%m")).
        month = f"{started.year}-{started.month:02d}"
        kind_text = _KIND_TEXT.get(kind, kind)
        # The record's own columns, then who it belongs to and how it was rated (or why not); one flat
        # tuple per branch rather than joined tuples.
        client = self.clients.get(account)
        if client is None:
            return (cdr_id, account, started, month, kind_text, duration, units, record.caller, callee,
                    None, *_NOT_RATED, UNKNOWN_ACCOUNT)  # fmt: skip
        plan = self.plans.get(client[1]) if client[1] else None
        rated = rate_fields(plan, kind, callee, duration, units)
        if isinstance(rated, str):
            return (cdr_id, account, started, month, kind_text, duration, units, record.caller, callee,
                    client[0], *_NOT_RATED, rated)  # fmt: skip
        rule, billable, _, fee, cost = rated
        return (cdr_id, account, started, month, kind_text, duration, units, record.caller, callee,
                client[0], rule.label, rule.prefix, rule.unit_price, fee, billable, cost, None)  # fmt: skip


async def ingest(
    uow: InvoicingUnitOfWork, records: Sequence[CallRecord | CallFields], ctx: RatingContext | None = None
) -> IngestionResult:
    """Store and rate a batch in one transaction; a cdr_id seen before is a duplicate."""
    ctx = ctx or RatingContext()
    result = IngestionResult()
    seen: set[str] = set()
    unique: list[CallRecord | CallFields] = []
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
    async with uow:
        await ctx.load(uow, {r.account for r in unique})
        inserted, rows = await uow.call_records.copy_call_records(unique, ctx.stored_row)
        await uow.commit()
    result.accepted = len(inserted)
    result.duplicates += len(unique) - len(inserted)
    for row in rows:
        if row[UNRATABLE_REASON] is not None and row[CDR_ID] in inserted:
            result.rejected.append(
                {"cdr_id": row[CDR_ID], "reason": f"kept unrated: {row[UNRATABLE_REASON]}"}
            )
    return result
