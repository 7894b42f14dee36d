"""Invoicing benchmarks on PostgreSQL (writes bench/results/invoicing.json).

1. Ingestion and rating of N call records (default 1,000,000) end to end into the database through the
   service layer: raw dicts validated into `CallRecord`, `ingest()` (duplicates, rating, storage), one
   transaction per 10,000-record batch, as POST /usage.csv does. Baseline in the same run: a raw asyncpg
   COPY of the same records (their raw columns) into a copy of the table with the same indexes.
2. A production run of C clients (default 10,000; each: one subscription, a contact, N/C of the
   records above) through `BillingRunner`: numbering, documents, outbox events, records attached.
   Rendering is another service and is excluded.
3. Before it, the review of issue 15: the previous month produced (not measured: it is the
   history), then a preview run of the C clients (P seconds) and its review report (R seconds);
   the figure is (P + R) / P, in the same run, against a target of 1.2.

Run: LEDGERLINE_BENCH_PG=postgresql://postgres@127.0.0.1:15532 .venv/bin/python bench/invoicing_bench.py
Quick run: LEDGERLINE_BENCH_RECORDS=100000 LEDGERLINE_BENCH_CLIENTS=1000 (same script).
Profile: LEDGERLINE_BENCH_PROFILE=1 writes bench/results/invoicing-{ingest,run}.html (pyinstrument).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, insert, select

from ledgerline_invoicing.adapters.database import migrate
from ledgerline_invoicing.adapters.orm import (
    ArticleRow,
    BillingRunRow,
    CallRecordRow,
    ClientRow,
    ContactRow,
    DocumentRow,
    RatePlanRow,
    SubscriptionRow,
    messaging,
)
from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.service.billing_runs import BillingRunner, create_run
from ledgerline_invoicing.service.run_review import review_out, review_run
from ledgerline_invoicing.service.usage import RatingContext, ingest
from ledgerline_shared.contracts.events import CallRecord
from ledgerline_shared.runtime import ServiceRuntime

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "invoicing.json"
RECORDS = int(os.environ.get("LEDGERLINE_BENCH_RECORDS", "1000000"))
CLIENTS = int(os.environ.get("LEDGERLINE_BENCH_CLIENTS", "10000"))
PROFILE = os.environ.get("LEDGERLINE_BENCH_PROFILE") == "1"
BATCH = 10_000
PERIOD = "2026-10"
HISTORY_PERIOD = "2026-09"  # produced before the preview, so the review compares against it
OFFSET = dt.timezone(dt.timedelta(hours=2))

# A realistic plan: French fixed and mobile numbers, special numbers, and a world of countries.
COUNTRIES = [
    "32",
    "34",
    "39",
    "41",
    "44",
    "49",
    "31",
    "351",
    "352",
    "353",
    "212",
    "213",
    "216",
    "221",
    "225",
    "1",
    "7",
    "55",
    "61",
    "81",
    "86",
    "90",
    "971",
    "972",
    "966",
    "20",
    "27",
    "52",
    "54",
    "65",
]
RULES: list[dict[str, str]] = [
    {"prefix": "33", "label": "France fixe", "kind": "voice", "unit_price": "0.0150", "increment": "60/60"},
    {
        "prefix": "336",
        "label": "France mobile",
        "kind": "voice",
        "unit_price": "0.0900",
        "connection_fee": "0.0200",
        "increment": "1/1",
    },
    {
        "prefix": "337",
        "label": "France mobile",
        "kind": "voice",
        "unit_price": "0.0900",
        "connection_fee": "0.0200",
        "increment": "1/1",
    },
    {
        "prefix": "338",
        "label": "France numéros spéciaux",
        "kind": "voice",
        "unit_price": "0.1500",
        "connection_fee": "0.0800",
        "increment": "60/60",
    },
    {"prefix": "336", "label": "SMS France", "kind": "sms", "unit_price": "0.0400"},
    {"prefix": "337", "label": "SMS France", "kind": "sms", "unit_price": "0.0400"},
    {"prefix": "", "label": "SMS international", "kind": "sms", "unit_price": "0.1200"},
    {"prefix": "", "label": "Data", "kind": "data", "unit_price": "0.0050"},
    *[
        {
            "prefix": cc,
            "label": f"International +{cc}",
            "kind": "voice",
            "unit_price": f"0.{20 + i:04d}",
            "connection_fee": "0.0500",
            "increment": "30/30" if i % 2 else "60/60",
        }
        for i, cc in enumerate(COUNTRIES)
    ],
    *[
        {
            "prefix": f"{cc}{m}",
            "label": f"International mobile +{cc}",
            "kind": "voice",
            "unit_price": f"0.{40 + i:04d}",
            "connection_fee": "0.0500",
            "increment": "1/1",
        }
        for i, cc in enumerate(COUNTRIES[:15])
        for m in ("6", "7")
    ],
]


def server_url() -> str:
    url = os.environ.get("LEDGERLINE_BENCH_PG") or os.environ.get("LEDGERLINE_TEST_PG")
    if not url:
        sys.exit("set LEDGERLINE_BENCH_PG (bench/run.sh starts PostgreSQL and sets it)")
    return url


def account(n: int) -> str:
    return f"B{n:06d}"


def raw_records(count: int, clients: int) -> Iterator[dict[str, Any]]:
    """Realistic traffic: mostly French calls, some SMS and data, a few international calls."""
    rnd = random.Random(20261001)
    start = dt.datetime(2026, 10, 1, tzinfo=OFFSET)
    for i in range(count):
        draw = rnd.random()
        when = (start + dt.timedelta(seconds=rnd.randrange(31 * 86400 - 3600))).isoformat()
        record: dict[str, Any] = {
            "cdr_id": f"cdr-{i:08d}",
            "account": account(i % clients),
            "started_at": when,
            "caller": f"+3314{i % 10_000_000:08d}",
        }
        if draw < 0.45:
            record |= {
                "kind": "voice",
                "callee": f"+33{rnd.choice('1234567')}{rnd.randrange(10**8):08d}",
                "duration_s": rnd.choice((0, rnd.randrange(1, 1800))),
            }
        elif draw < 0.55:
            cc = rnd.choice(COUNTRIES)
            record |= {
                "kind": "voice",
                "callee": f"00{cc}{rnd.randrange(10**9):09d}",
                "duration_s": rnd.randrange(1, 3600),
            }
        elif draw < 0.85:
            record |= {"kind": "sms", "callee": f"+336{rnd.randrange(10**8):08d}"}
        else:
            record |= {"kind": "data", "callee": "internet", "units": f"{rnd.randrange(1, 500000) / 100:.2f}"}
        yield record


async def fresh_database(server: str) -> str:
    name = f"bench_invoicing_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{server}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return name


async def drop_database(server: str, name: str) -> None:
    admin = await asyncpg.connect(f"{server}/postgres")
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def seed_operator(runtime: ServiceRuntime, clients: int) -> None:
    async with runtime.sessions() as session, session.begin():
        await session.execute(insert(RatePlanRow), [{"code": "BENCH", "rules": RULES}])
        await session.execute(
            insert(ArticleRow),
            [
                {
                    "code": "LINE",
                    "label": "Ligne SIP",
                    "kind": "recurring",
                    "unit_price": Decimal("19.90"),
                    "vat_rate": Decimal("20.00"),
                    "accounting_account": "706100",
                },
                {
                    "code": "CONSO",
                    "label": "Consommations",
                    "kind": "usage",
                    "unit_price": Decimal("0"),
                    "vat_rate": Decimal("20.00"),
                    "accounting_account": "706300",
                },
            ],
        )
        ids = [str(uuid.uuid4()) for _ in range(clients)]
        for start in range(0, clients, 2000):
            chunk = range(start, min(start + 2000, clients))
            await session.execute(
                insert(ClientRow),
                [
                    {
                        "id": ids[n],
                        "code": account(n),
                        "name": f"Entreprise {n} SAS",
                        "address_line1": f"{n} rue du Bench",
                        "postcode": "75011",
                        "city": "Paris",
                        "country": "FR",
                        "language": "fr",
                        "currency": "EUR",
                        "payment_terms_days": 30,
                        "rate_plan_code": "BENCH",
                    }
                    for n in chunk
                ],
            )
            await session.execute(
                insert(ContactRow),
                [
                    {
                        "id": str(uuid.uuid4()),
                        "client_id": ids[n],
                        "name": "Comptabilité",
                        "email": f"compta{n}@bench.test",
                        "invoice_recipient": True,
                    }
                    for n in chunk
                ],
            )
            await session.execute(
                insert(SubscriptionRow),
                [
                    {
                        "id": str(uuid.uuid4()),
                        "client_id": ids[n],
                        "article_code": "LINE",
                        "quantity": Decimal(1 + n % 3),
                        "unit_price": None,
                        "start_date": dt.date(2026, 1, 1),
                        "end_date": None,
                    }
                    for n in chunk
                ],
            )


async def bench_ingest(runtime: ServiceRuntime) -> dict[str, Any]:
    ctx = RatingContext()
    accepted = duplicates = unratable = 0
    source = raw_records(RECORDS, CLIENTS)
    # The records are generated beforehand: what is measured is validation, rating and storage.
    raws = list(source)
    started = time.perf_counter()
    for start in range(0, len(raws), BATCH):
        batch = [CallRecord.model_validate(r) for r in raws[start : start + BATCH]]
        async with runtime.sessions() as session, session.begin():
            result = await ingest(session, batch, ctx)
        accepted += result.accepted
        duplicates += result.duplicates
        unratable += len(result.rejected)
    seconds = time.perf_counter() - started
    return {
        "records": len(raws),
        "accepted": accepted,
        "duplicates": duplicates,
        "kept_unratable": unratable,
        "seconds": round(seconds, 2),
        "records_per_s": round(len(raws) / seconds),
    }


async def bench_raw_copy(db_url: str) -> dict[str, Any]:
    """asyncpg COPY of the same records' raw columns into a table shaped like call_records."""
    conn = await asyncpg.connect(db_url)
    await conn.execute("CREATE TABLE call_records_raw (LIKE call_records INCLUDING ALL)")
    columns = ["cdr_id", "account", "started_at", "period", "kind", "duration_s", "units", "caller", "callee"]
    raws = list(raw_records(RECORDS, CLIENTS))
    started = time.perf_counter()
    rows = []
    for r in raws:
        at = dt.datetime.fromisoformat(r["started_at"])
        rows.append(
            (
                r["cdr_id"],
                r["account"],
                at,
                at.strftime("%Y-%m"),
                r["kind"],
                r.get("duration_s"),
                Decimal(r["units"]) if "units" in r else None,
                r["caller"],
                r["callee"],
            )
        )
    for start in range(0, len(rows), BATCH):
        async with conn.transaction():
            await conn.copy_records_to_table(
                "call_records_raw", records=rows[start : start + BATCH], columns=columns
            )
    seconds = time.perf_counter() - started
    await conn.execute("DROP TABLE call_records_raw")
    await conn.close()
    return {"records": len(rows), "seconds": round(seconds, 2), "records_per_s": round(len(rows) / seconds)}


async def timed_run(
    runtime: ServiceRuntime, runner: BillingRunner, period: str, mode: str
) -> tuple[str, float]:
    async with runtime.sessions() as session, session.begin():
        run = await create_run(session, period, mode, None, "bench")
        run_id = run.id
    started = time.perf_counter()
    await runner.execute(run_id)
    return run_id, time.perf_counter() - started


async def bench_preview_review(runtime: ServiceRuntime, settings: InvoicingSettings) -> dict[str, Any]:
    """A preview of every client, then its review report, against the preview alone."""
    runner = BillingRunner(runtime, settings)
    await timed_run(runtime, runner, HISTORY_PERIOD, "production")
    run_id, preview_s = await timed_run(runtime, runner, PERIOD, "preview")
    started = time.perf_counter()
    async with runtime.sessions() as session:
        run = await session.get(BillingRunRow, run_id)
        assert run is not None and run.status == "completed", run and run.errors
        report = review_out(run, await review_run(session, settings, run))
    review_s = time.perf_counter() - started
    return {
        "clients": CLIENTS,
        "previews": report["previews"],
        "flagged_previews": report["flagged_previews"],
        "history": f"the {HISTORY_PERIOD} production run of the same clients",
        "preview_seconds": round(preview_s, 2),
        "review_seconds": round(review_s, 2),
        "ratio_preview_and_review_over_preview": round((preview_s + review_s) / preview_s, 3),
        "target_ratio": 1.2,
    }


async def bench_run(runtime: ServiceRuntime, settings: InvoicingSettings) -> dict[str, Any]:
    runner = BillingRunner(runtime, settings)
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
        raw = await bench_raw_copy(db_url)
        print("raw COPY", raw, flush=True)
        handle = profiled("ingest")
        ingestion = await bench_ingest(runtime)
        save_profile(handle)
        print("ingest()", ingestion, flush=True)
        handle = profiled("review")
        review = await bench_preview_review(runtime, settings)
        save_profile(handle)
        print("preview and review", review, flush=True)
        handle = profiled("run")
        production = await bench_run(runtime, settings)
        save_profile(handle)
        print("production run", production, flush=True)
        await runtime.engine.dispose()
    finally:
        await drop_database(server, name)
    out = {
        "bench": "invoicing",
        "cpu_count": os.cpu_count(),
        "database": "PostgreSQL (asyncpg), local",
        "ingestion": {
            **ingestion,
            "target_records_per_s": 50_000,
            "baseline": "asyncpg copy_records_to_table of the same records' raw columns, same indexes, "
            "10,000 per transaction",
            "raw_copy": raw,
            "ratio_raw_over_service": round(ingestion["seconds"] / raw["seconds"], 2),
        },
        "production_run": {**production, "target_seconds": 60, "rendering": "excluded (rendering service)"},
        "preview_and_review": review,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
