"""The invoicing bench's operator and traffic: a realistic rate plan, its clients, a month of calls."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import asyncpg
from sqlalchemy import insert

from ledgerline_invoicing.adapters.orm import ArticleRow, ClientRow, ContactRow, RatePlanRow, SubscriptionRow
from ledgerline_shared.runtime import ServiceRuntime

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
