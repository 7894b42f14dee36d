"""Gapless numbering under concurrent issuing transactions: PostgreSQL (row lock) and SQLite (one process).

The issuing code is called directly, each call in its own transaction, all started together; every
transaction keeps its number a while before committing so that the others really have to wait.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest
from invoicing_api_setup import client_body, operator, post, run
from sqlalchemy import select, text

from ledgerline_invoicing.adapters.orm import ClientRow, DocumentRow
from ledgerline_invoicing.domain.lines import DraftLine
from ledgerline_invoicing.service.issuing import issue_document
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_shared.contracts.document import DocumentType

ISSUE = dt.date(2026, 4, 1)
LINE = DraftLine(
    label="Ligne SIP", quantity=Decimal("1"), unit_price=Decimal("25.00"), vat_rate=Decimal("20.00")
)


class Abandoned(Exception):
    """A transaction that took a number and then failed: its number must be given back."""


async def concurrent_issues(service: Any, count: int, fail: set[int] = frozenset()) -> list[str]:  # type: ignore[assignment]
    runtime, settings = service.app.state.runtime, service.app.state.settings
    await post(service, "/api/v1/clients", client_body("NUM", plan=None))
    async with runtime.sessions() as session:
        client_id = await session.scalar(select(ClientRow.id).where(ClientRow.code == "NUM"))
    postgres = runtime.engine.dialect.name == "postgresql"
    opened = 0
    all_open = asyncio.Event()

    async def one(n: int) -> str | None:
        nonlocal opened
        try:
            async with runtime.sessions() as session, session.begin():
                if postgres:
                    # Every transaction is open before any takes a number: they really race.
                    # (SQLite's BEGIN IMMEDIATE already queues them at their first statement.)
                    await session.execute(text("select 1"))
                    opened += 1
                    if opened == count:
                        all_open.set()
                    await asyncio.wait_for(all_open.wait(), 30)
                client = await session.get(ClientRow, client_id)
                async with InvoicingUnitOfWork.joining(session, runtime.event_sink, []) as uow:
                    row, _doc = await issue_document(
                        uow,
                        settings,
                        kind=DocumentType.INVOICE,
                        client=client,
                        lines=[LINE],
                        issue_date=ISSUE,
                    )
                    await uow.commit()
                await asyncio.sleep(random.uniform(0.01, 0.05))  # hold the number while others queue
                if n in fail:
                    raise Abandoned(row.number)
                return row.number
        except Abandoned:
            return None

    return [n for n in await asyncio.gather(*(one(n) for n in range(count))) if n]


async def stored_numbers(service: Any) -> list[str]:
    async with service.app.state.runtime.sessions() as session:
        return sorted(
            (await session.scalars(select(DocumentRow.number).where(DocumentRow.number.is_not(None)))).all()
        )


def expected(count: int) -> list[str]:
    return [f"F2026-{n:06d}" for n in range(1, count + 1)]


@pytest.mark.timeout(120)
async def test_postgres_eight_concurrent_issues_get_1_to_8(invoicing_pg):
    numbers = await concurrent_issues(invoicing_pg, 8)
    assert sorted(numbers) == expected(8)
    assert await stored_numbers(invoicing_pg) == expected(8)


@pytest.mark.timeout(120)
async def test_postgres_rolled_back_issues_leave_no_hole(invoicing_pg):
    numbers = await concurrent_issues(invoicing_pg, 8, fail={2, 5})
    assert sorted(numbers) == expected(6)
    assert await stored_numbers(invoicing_pg) == expected(6)
    assert len(await invoicing_pg.outbox("invoice.issued")) == 6  # the event went with its rollback


@pytest.mark.timeout(120)
async def test_postgres_eight_clients_billed_concurrently_and_two_overlapping_runs(invoicing_pg):
    clients = await operator(invoicing_pg, 8)
    for client in clients:
        await post(
            invoicing_pg,
            f"/api/v1/clients/{client['id']}/subscriptions",
            {"article_code": "LINE", "quantity": "1", "start_date": "2026-01-01"},
        )
    runner = invoicing_pg.app.state.billing_runner
    outcomes = await asyncio.gather(
        *(runner.bill_client(c["id"], "2026-03", "production", None) for c in clients)
    )
    year = dt.date.today().year
    assert sorted(o.document or "" for o in outcomes) == [f"F{year}-{n:06d}" for n in range(1, 9)]
    # Two production runs of April started together: each client is billed once, numbers 9..16.
    started = [
        await post(invoicing_pg, "/api/v1/billing-runs", {"period": "2026-04", "mode": "production"}, 202)
        for _ in range(2)
    ]
    for s in started:
        await runner.wait(s["id"])
    async with invoicing_pg.app.state.runtime.sessions() as session:
        april = (
            await session.execute(
                select(DocumentRow.number, DocumentRow.client_id).where(DocumentRow.period == "2026-04")
            )
        ).all()
    assert sorted(n for n, _ in april) == [f"F{year}-{n:06d}" for n in range(9, 17)]
    assert len({c for _, c in april}) == 8


@pytest.mark.timeout(120)
async def test_sqlite_eight_concurrent_issues_in_one_process_get_1_to_8(invoicing):
    numbers = await concurrent_issues(invoicing, 8, fail={0})
    assert sorted(numbers) == expected(7)
    assert await stored_numbers(invoicing) == expected(7)


@pytest.mark.timeout(120)
async def test_sqlite_repeated_production_run_numbers_stay_gapless(invoicing):
    clients = await operator(invoicing, 3)
    for client in clients:
        await post(
            invoicing,
            f"/api/v1/clients/{client['id']}/subscriptions",
            {"article_code": "LINE", "quantity": "1", "start_date": "2026-01-01"},
        )
    first, second = await asyncio.gather(
        run(invoicing, "2026-03", "production"), run(invoicing, "2026-03", "production")
    )
    assert len(first["documents"]) + len(second["documents"]) == 3
    year = dt.date.today().year
    assert await stored_numbers(invoicing) == [f"F{year}-{n:06d}" for n in range(1, 4)]
