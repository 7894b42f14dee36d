"""Invoicing benchmarks on PostgreSQL (writes bench/results/invoicing.json).

1. Ingestion and rating of N call records (default 1,000,000) end to end into the database: their CSV
   body, in 64 kB chunks, through `ingest_csv` (what POST /usage.csv runs: reading, validation,
   duplicates, rating, storage, one transaction per CSV_BATCH records). Baseline in the same run: the
   same CSV read by csv.reader and a raw asyncpg COPY of its columns, in transactions of the same size,
   into a copy of the table with the same indexes.
2. A production run of C clients (default 10,000; each: one subscription, a contact, N/C of the
   records above) through `BillingRunner`: numbering, documents, outbox events, records attached.
   Rendering is another service and is excluded.
3. Before it, the review of issue 15: the previous month produced (not measured: it is the
   history), then a preview run of the C clients (P seconds) and its review report (R seconds);
   the figure is (P + R) / P, in the same run, against a target of 1.2.

Run: LEDGERLINE_BENCH_PG=postgresql://postgres@127.0.0.1:15532 .venv/bin/python bench/invoicing_bench.py
Quick run: LEDGERLINE_BENCH_RECORDS=100000 LEDGERLINE_BENCH_CLIENTS=1000 (same script).
Profile: LEDGERLINE_BENCH_PROFILE=1 writes bench/results/invoicing-{ingest,run}.html (pyinstrument).
Production run only: LEDGERLINE_BENCH_ONLY=production ingests the records once, unmeasured, and
measures only stage 2 (no ingestion rounds, no preview and review); LEDGERLINE_BENCH_ONLY=ingestion
measures stage 1 alone. By default every stage is measured.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import os
import sys
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from invoicing_data import drop_database, fresh_database, raw_records, seed_operator
from measure import RUNS, Target, process_stat, save, stage
from sqlalchemy import func, select

from ledgerline_invoicing.adapters.database import migrate
from ledgerline_invoicing.adapters.orm import (
    BillingRunRow,
    CallRecordRow,
    DocumentRow,
    messaging,
)
from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.entrypoints.app import billing_runner
from ledgerline_invoicing.service.billing_runs import BillingRunner, create_run
from ledgerline_invoicing.service.run_review import review_out, review_run
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_invoicing.service.usage_csv import CSV_BATCH, CSV_FIELDS, ingest_csv
from ledgerline_shared.runtime import ServiceRuntime

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "invoicing.json"  # and the profiles beside it
RECORDS = int(os.environ.get("LEDGERLINE_BENCH_RECORDS", "1000000"))
CLIENTS = int(os.environ.get("LEDGERLINE_BENCH_CLIENTS", "10000"))
PROFILE = os.environ.get("LEDGERLINE_BENCH_PROFILE") == "1"
ONLY = os.environ.get("LEDGERLINE_BENCH_ONLY", "")  # "production" or "ingestion": that stage alone
if ONLY not in ("", "production", "ingestion"):
    sys.exit(f"LEDGERLINE_BENCH_ONLY={ONLY!r}: expected 'production', 'ingestion' or nothing")
PERIOD = "2026-10"
HISTORY_PERIOD = "2026-09"  # produced before the preview, so the review compares against it


def server_url() -> str:
    url = os.environ.get("LEDGERLINE_BENCH_PG") or os.environ.get("LEDGERLINE_TEST_PG")
    if not url:
        sys.exit("set LEDGERLINE_BENCH_PG (bench/run.sh starts PostgreSQL and sets it)")
    return url


async def server_cpu_seconds(conn: asyncpg.Connection) -> float | None:
    """CPU seconds used so far by the PostgreSQL server's processes (backends, WAL writer,
    checkpointer...), read from /proc; None when the server is not on this machine."""
    total = 0.0
    for row in await conn.fetch("SELECT pid FROM pg_stat_activity"):
        stat = process_stat(row["pid"])
        if stat is None:
            return None
        total += stat[1]
    return total


class Meter:
    """Wall seconds, and CPU seconds of this process plus the PostgreSQL server, of one round."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def __aenter__(self) -> Meter:
        self.server = await server_cpu_seconds(self.conn)
        self.cpu, self.wall = time.process_time(), time.perf_counter()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        server = await server_cpu_seconds(self.conn)
        self.total_cpu = None if server is None or self.server is None else self.cpu + server - self.server


def csv_body(raws: list[dict[str, Any]]) -> bytes:
    """The records as a client uploads them to POST /usage.csv (built beforehand: not measured)."""
    lines = [",".join(CSV_FIELDS)]
    lines.extend(",".join(str(r.get(f, "")) for f in CSV_FIELDS) for r in raws)
    return ("\n".join(lines) + "\n").encode()


async def body_chunks(body: bytes) -> AsyncIterator[bytes]:
    """The body in the 64 kB chunks the HTTP server hands it over in."""
    for start in range(0, len(body), 65_536):
        yield body[start : start + 65_536]


async def bench_ingest(runtime: ServiceRuntime, body: bytes, meter: Meter) -> dict[str, Any]:
    """The service's path: the CSV body through `ingest_csv`, what POST /usage.csv runs."""
    async with meter:
        uow = InvoicingUnitOfWork(runtime.sessions, runtime.event_sink)
        result = await ingest_csv(uow, body_chunks(body))
    return {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "kept_unratable": len(result.rejected),
    }


async def bench_raw_copy(conn: asyncpg.Connection, body: bytes, meter: Meter) -> None:
    """The same CSV read by csv.reader and its raw columns COPYed into a table shaped like call_records."""
    await conn.execute("CREATE TABLE call_records_raw (LIKE call_records INCLUDING ALL)")
    columns = ["cdr_id", "account", "started_at", "period", "kind", "duration_s", "units", "caller", "callee"]
    async with meter:
        rows = []
        lines = csv.reader(io.StringIO(body.decode()))
        next(lines)  # the header, in CSV_FIELDS order
        for cdr_id, account, started_at, kind, duration_s, units, caller, callee in lines:
            at = dt.datetime.fromisoformat(started_at)
            rows.append(
                (
                    cdr_id,
                    account,
                    at,
                    at.strftime("%Y-%m"),
                    kind,
                    int(duration_s) if duration_s else None,
                    Decimal(units) if units else None,
                    caller,
                    callee,
                )
            )
        for start in range(0, len(rows), CSV_BATCH):
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "call_records_raw", records=rows[start : start + CSV_BATCH], columns=columns
                )
    await conn.execute("DROP TABLE call_records_raw")


async def bench_ingestion(runtime: ServiceRuntime, db_url: str) -> dict[str, Any]:
    """Raw COPY and the service interleaved, RUNS rounds; the service's table emptied between rounds
    but for the last (the production run bills those records)."""
    body = csv_body(list(raw_records(RECORDS, CLIENTS)))  # generated beforehand: not measured
    conn = await asyncpg.connect(db_url)
    raw_meters, service_meters, outcome = [], [], {}
    for round_no in range(RUNS):
        raw_meters.append(Meter(conn))
        await bench_raw_copy(conn, body, raw_meters[-1])
        if round_no:
            await conn.execute("TRUNCATE call_records")
        service_meters.append(Meter(conn))
        handle = profiled("ingest") if round_no == RUNS - 1 else None
        outcome = await bench_ingest(runtime, body, service_meters[-1])
        save_profile(handle)
        print(
            f"round {round_no}: raw {raw_meters[-1].wall:.2f} s, service {service_meters[-1].wall:.2f} s",
            flush=True,
        )
    await conn.close()
    extra: dict[str, Any] = {
        **outcome,
        "records": RECORDS,
        "baseline": "the same CSV read by csv.reader, its raw columns (fromisoformat/int/Decimal) "
        "COPYed by asyncpg's copy_records_to_table, same indexes, same transactions (CSV_BATCH records)",
    }
    if all(m.total_cpu is not None for m in raw_meters + service_meters):
        cpu = stage(
            "cpu",
            [m.total_cpu for m in raw_meters],  # type: ignore[misc]
            [m.total_cpu for m in service_meters],  # type: ignore[misc]
            None,
            rate=True,
        )
        extra["cpu_ratio_client_plus_postgres"] = cpu["ratio"]
        extra["cpu_raw_seconds"], extra["cpu_service_seconds"] = cpu["raw_seconds"], cpu["service_seconds"]
    return stage(
        f"ingestion + rating of {RECORDS:,} call records (rate vs raw COPY)",
        [m.wall for m in raw_meters],
        [m.wall for m in service_meters],
        Target(">=", 0.6),
        rate=True,
        extra=extra,
    )


async def timed_run(
    runtime: ServiceRuntime, runner: BillingRunner, period: str, mode: str
) -> tuple[str, float]:
    async with InvoicingUnitOfWork(runtime.sessions, runtime.event_sink) as uow:
        run = await create_run(uow, period, mode, None, "bench")
        await uow.commit()
    run_id = run.id
    started = time.perf_counter()
    await runner.execute(run_id)
    return run_id, time.perf_counter() - started


async def bench_preview_review(runtime: ServiceRuntime, settings: InvoicingSettings) -> dict[str, Any]:
    """A preview of every client, then its review report, against the preview alone, RUNS rounds (a
    preview changes nothing the next one reads). The history run they compare against is produced
    once, before them, unmeasured."""
    runner = billing_runner(runtime, settings)
    await timed_run(runtime, runner, HISTORY_PERIOD, "production")
    previews, reviews, report = [], [], {}
    for round_no in range(RUNS):
        run_id, preview_s = await timed_run(runtime, runner, PERIOD, "preview")
        started = time.perf_counter()
        async with InvoicingUnitOfWork(runtime.sessions, runtime.event_sink) as uow:
            run = await uow.runs.get(run_id)
            assert run is not None and run.status == "completed", run and run.errors
            report = review_out(run, await review_run(uow, settings, run))
        previews.append(preview_s)
        reviews.append(time.perf_counter() - started)
        print(f"round {round_no}: preview {preview_s:.2f} s, review {reviews[-1]:.2f} s", flush=True)
    extra = {
        "clients": CLIENTS,
        "previews": report["previews"],
        "flagged_previews": report["flagged_previews"],
        "history": f"the {HISTORY_PERIOD} production run of the same clients",
        "review_seconds": [round(r, 3) for r in reviews],
    }
    return stage(
        f"preview + review, {CLIENTS:,} clients (time vs the preview alone)",
        previews,
        [p + r for p, r in zip(previews, reviews, strict=True)],
        Target("<=", 1.2),
        extra=extra,
    )


async def bench_run(runtime: ServiceRuntime, settings: InvoicingSettings) -> dict[str, Any]:
    runner = billing_runner(runtime, settings)
    async with runtime.sessions() as session:  # the history run and the preview queued events too
        events_before = await session.scalar(select(func.count()).select_from(messaging.outbox)) or 0
    run_id, seconds = await timed_run(runtime, runner, PERIOD, "production")
    async with runtime.sessions() as session:
        state = await session.get(BillingRunRow, run_id)
        assert state is not None
        invoices = await session.scalar(
            select(func.count())
            .select_from(DocumentRow)
            .where(DocumentRow.type == "invoice", DocumentRow.period == PERIOD)
        )
        attached = await session.scalar(
            select(func.count()).select_from(CallRecordRow).where(CallRecordRow.invoice_number.is_not(None))
        )
        events = await session.scalar(select(func.count()).select_from(messaging.outbox))
    return {
        "clients": CLIENTS,
        "status": state.status,
        "errors": len(state.errors),
        "invoices": invoices,
        "call_records_attached": attached,
        "outbox_events": (events or 0) - events_before,
        "seconds": round(seconds, 2),
        "clients_per_s": round(CLIENTS / seconds, 1),
        "workers": settings.billing_workers,
    }


# The raw baseline of a production run: the same invoice totals for the same clients and calls in a
# few SQL statements (spec section 4's rounding: each line's net half-up to the cent, voice quantities
# in minutes exact or to 4 decimals, one fee line per destination and fee, VAT per rate on the sum of
# nets), one row written per invoice and every call record attached to it, as the run does.
RAW_RUN_SQL = [
    """
CREATE TEMP TABLE raw_invoices ON COMMIT DROP AS
WITH rated AS (
  SELECT account, kind, destination, unit_price, billable_s, units, connection_fee
  FROM call_records WHERE period <= $1 AND unratable_reason IS NULL AND client_id IS NOT NULL
), usage_nets AS (
  SELECT account, round(CASE WHEN kind = 'voice' THEN round(sum(billable_s)::numeric / 60, 4)
                             ELSE sum(coalesce(units, 1)) END * unit_price, 2) AS net
  FROM rated GROUP BY account, kind, destination, unit_price
), fee_nets AS (
  SELECT account, round(count(*) * connection_fee, 2) AS net
  FROM rated WHERE connection_fee > 0 GROUP BY account, kind, destination, unit_price, connection_fee
), subscription_nets AS (
  SELECT c.code AS account, round(s.quantity * coalesce(s.unit_price, a.unit_price), 2) AS net
  FROM subscriptions s JOIN clients c ON c.id = s.client_id JOIN articles a ON a.code = s.article_code
), nets AS (
  SELECT account, sum(net) AS net FROM (
    SELECT * FROM usage_nets UNION ALL SELECT * FROM fee_nets UNION ALL SELECT * FROM subscription_nets
  ) lines GROUP BY account
)
SELECT account, 'R' || row_number() OVER (ORDER BY account) AS number, net,
       round(net * 0.20, 2) AS vat, net + round(net * 0.20, 2) AS gross
FROM nets
""",
    "UPDATE call_records c SET invoice_number = r.number FROM raw_invoices r "
    "WHERE c.account = r.account AND c.period <= $1",
]


async def raw_run(conn: asyncpg.Connection, meter: Meter) -> dict[str, Decimal]:
    """The baseline, in a transaction rolled back (the service's run needs the records unattached);
    returns each client's gross."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        async with meter:
            for sql in RAW_RUN_SQL:
                await conn.execute(sql, PERIOD)
        return {r["account"]: r["gross"] for r in await conn.fetch("SELECT account, gross FROM raw_invoices")}
    finally:
        await transaction.rollback()


async def bench_production(
    runtime: ServiceRuntime, settings: InvoicingSettings, db_url: str
) -> dict[str, Any]:
    """raw, service, raw: a production run cannot be undone cheaply, so one service round between two
    raw rounds; the ratios are the service's time over each raw round's."""
    conn = await asyncpg.connect(db_url)
    before, after = Meter(conn), Meter(conn)
    expected = await raw_run(conn, before)
    handle = profiled("run")
    service = Meter(conn)
    async with service:
        production = await bench_run(runtime, settings)
    save_profile(handle)
    await raw_run(conn, after)
    issued = {
        r["client_code"]: r["gross_total"]
        for r in await conn.fetch(
            "SELECT client_code, gross_total FROM documents WHERE type = 'invoice' AND period = $1", PERIOD
        )
    }
    await conn.close()
    mismatches = sorted(
        code for code in expected.keys() | issued.keys() if expected.get(code) != issued.get(code)
    )
    production |= {
        "raw_sql": "a few SQL statements: totals per client, one row per invoice, every call attached",
        "totals_agree_with_raw_sql": not mismatches,
        "clients_whose_totals_differ": mismatches[:10],
    }
    print("production run", production, flush=True)
    return stage(
        f"production run, {CLIENTS:,} clients (time vs raw SQL)",
        [before.wall, after.wall],
        [service.wall, service.wall],
        Target("<=", 3.0),
        extra=production,
    )


def profiled(name: str) -> Any:
    if not PROFILE:
        return None
    from pyinstrument import Profiler

    profiler = Profiler(async_mode="enabled")
    profiler.start()
    return (profiler, name)


def save_profile(handle: Any) -> None:
    if handle is not None:
        profiler, name = handle
        profiler.stop()
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        (RESULTS.parent / f"invoicing-{name}.html").write_text(profiler.output_html())
        print(profiler.output_text(unicode=False, color=False, show_all=False)[:6000])


async def main() -> None:
    server = server_url()
    name = await fresh_database(server)
    db_url = f"{server}/{name}"
    try:
        url = db_url.replace("postgresql://", "postgresql+asyncpg://")
        await asyncio.to_thread(migrate, url)
        settings = InvoicingSettings(invoicing_database_url=url, kafka_bootstrap_servers="127.0.0.1:1")
        runtime = ServiceRuntime("invoicing", messaging, settings)
        await seed_operator(runtime, CLIENTS)
        stages = []
        if ONLY == "production":  # the records the run bills, stored by the service, not measured
            conn = await asyncpg.connect(db_url)
            await bench_ingest(runtime, list(raw_records(RECORDS, CLIENTS)), Meter(conn))
            await conn.close()
        else:
            stages.append(await bench_ingestion(runtime, db_url))
        if not ONLY:
            stages.append(await bench_preview_review(runtime, settings))
        if ONLY != "ingestion":
            stages.append(await bench_production(runtime, settings, db_url))
        await runtime.engine.dispose()
    finally:
        await drop_database(server, name)
    save(
        "invoicing",
        stages,
        {
            "database": "PostgreSQL (asyncpg), local",
            "records": RECORDS,
            "clients": CLIENTS,
            "measured": ONLY or "all stages",
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
