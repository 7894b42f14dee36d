"""Billing runs bill their clients by chunks, one transaction per chunk and a savepoint per client.

A client refused by the database after its number was taken (here: a trigger refusing its document)
must be rolled back alone: reported, its number given back (the numbers stay gapless), its calls
left unattached, no event for it; the rest of its chunk is billed. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from invoicing_api_setup import call, operator, post, run
from sqlalchemy import select, text

from ledgerline_invoicing.adapters.orm import CallRecordRow, NumberSequenceRow
from ledgerline_invoicing.service import billing_runs

PERIOD = "2026-03"


async def clients_with_usage(invoicing: Any, count: int) -> list[dict[str, Any]]:
    made = await operator(invoicing, count)
    for n, client in enumerate(made, start=1):
        await post(
            invoicing,
            f"/api/v1/clients/{client['id']}/subscriptions",
            {"article_code": "LINE", "quantity": "1", "start_date": "2026-01-01"},
        )
        await post(
            invoicing,
            "/api/v1/usage",
            [
                call(f"{n}-a", client["code"], "33140000000", 61),
                call(f"{n}-b", client["code"], "33612345678"),
            ],
            expect=200,
        )
    return made


async def refuse_documents_of(invoicing: Any, client_id: str) -> None:
    """A trigger that makes the database refuse this client's documents at INSERT."""
    runtime = invoicing.app.state.runtime
    async with runtime.sessions() as session, session.begin():
        if runtime.engine.dialect.name == "postgresql":
            await session.execute(
                text(
                    "CREATE FUNCTION refuse_document() RETURNS trigger AS $$ BEGIN "
                    f"IF NEW.client_id = '{client_id}' THEN RAISE EXCEPTION 'refused by test'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            await session.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON documents "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_document()"
                )
            )
        else:
            await session.execute(
                text(
                    f"CREATE TRIGGER refuse BEFORE INSERT ON documents WHEN NEW.client_id = '{client_id}' "
                    "BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
                )
            )


async def drop_refusal(invoicing: Any) -> None:
    async with invoicing.app.state.runtime.sessions() as session, session.begin():
        await session.execute(
            text("DROP TRIGGER refuse ON documents" if _pg(invoicing) else "DROP TRIGGER refuse")
        )


def _pg(invoicing: Any) -> bool:
    return bool(invoicing.app.state.runtime.engine.dialect.name == "postgresql")


async def attached(invoicing: Any, account: str) -> list[str | None]:
    async with invoicing.app.state.runtime.sessions() as session:
        return list(
            (
                await session.scalars(
                    select(CallRecordRow.invoice_number)
                    .where(CallRecordRow.account == account)
                    .order_by(CallRecordRow.cdr_id)
                )
            ).all()
        )


async def a_client_refused_after_numbering_is_rolled_back_alone(invoicing: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(billing_runs, "CLIENTS_PER_CHUNK", 2)  # 5 clients: chunks of 2, 2 and 1
    clients = await clients_with_usage(invoicing, 5)
    broken = clients[2]
    await refuse_documents_of(invoicing, broken["id"])

    state = await run(invoicing, PERIOD, "production")

    assert state["status"] == "completed" and state["progress"] == {"done": 5, "total": 5}
    assert [e["client_id"] for e in state["errors"]] == [broken["id"]]
    assert "refused by test" in state["errors"][0]["error"]
    year = dt.date.today().year
    assert sorted(state["documents"]) == [f"F{year}-{n:06d}" for n in range(1, 5)]  # no hole
    issued = await invoicing.outbox("invoice.issued")
    assert sorted(e["key"] for e in issued) == sorted(state["documents"])
    assert broken["id"] not in {e["data"]["buyer"]["client_id"] for e in issued}
    assert await attached(invoicing, broken["code"]) == [None, None]
    for client in (c for c in clients if c is not broken):
        numbers = await attached(invoicing, client["code"])
        assert numbers[0] is not None and numbers == [numbers[0]] * 2
    async with invoicing.app.state.runtime.sessions() as session:
        assert await session.scalar(select(NumberSequenceRow.last)) == 4

    # Once the cause is gone, a second run bills that client alone, with the next number.
    await drop_refusal(invoicing)
    again = await run(invoicing, PERIOD, "production")
    assert again["documents"] == [f"F{year}-000005"] and again["errors"] == []
    assert await attached(invoicing, broken["code"]) == [f"F{year}-000005"] * 2
    assert len(again["report"]["skipped"]) == 4


async def test_sqlite_a_client_refused_after_numbering_is_rolled_back_alone(invoicing, monkeypatch):
    await a_client_refused_after_numbering_is_rolled_back_alone(invoicing, monkeypatch)


@pytest.mark.timeout(120)
async def test_postgres_a_client_refused_after_numbering_is_rolled_back_alone(invoicing_pg, monkeypatch):
    await a_client_refused_after_numbering_is_rolled_back_alone(invoicing_pg, monkeypatch)
