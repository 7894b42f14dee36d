"""Invoicing's business metrics move once a use case committed, never for a rolled-back attempt:
documents issued by type, billing runs by outcome and their duration (shared/.../metrics.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest
from invoicing_api_setup import operator, post, run
from prometheus_client import REGISTRY
from sqlalchemy import update

from ledgerline_invoicing.adapters.orm import SubscriptionRow
from ledgerline_invoicing.domain.lines import DraftLine
from ledgerline_invoicing.service import billing_runs
from ledgerline_invoicing.service.issuing import issue_document
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_shared.contracts.document import DocumentType

PERIOD = "2026-03"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def issued(kind: str) -> float:
    return sample("ledgerline_documents_issued_total", type=kind)


async def billable(invoicing: Any, clients: int) -> list[dict[str, Any]]:
    made = await operator(invoicing, clients)
    for client in made:
        await post(
            invoicing,
            f"/api/v1/clients/{client['id']}/subscriptions",
            {"article_code": "LINE", "quantity": "2", "start_date": "2026-01-01"},
        )
    return made


async def test_a_production_run_counts_its_invoices_and_not_the_client_rolled_back(invoicing: Any) -> None:
    clients = await billable(invoicing, 3)
    async with invoicing.app.state.runtime.sessions() as session, session.begin():
        # A negative quantity (the API refuses it) makes this one client fail: its savepoint rolls back.
        await session.execute(
            update(SubscriptionRow).where(SubscriptionRow.client_id == clients[1]["id"]).values(quantity=-1)
        )
    invoices, previews = issued("invoice"), issued("preview")
    runs = sample("ledgerline_billing_runs_total", mode="production", outcome="completed")
    timed = sample("ledgerline_billing_run_seconds_count", mode="production", outcome="completed")

    preview = await run(invoicing, PERIOD, "preview")
    assert preview["status"] == "completed"
    assert issued("preview") == previews + 2  # the broken client fails its preview too
    assert issued("invoice") == invoices

    state = await run(invoicing, PERIOD, "production")
    assert state["status"] == "completed" and len(state["documents"]) == 2, state
    assert issued("invoice") == invoices + 2
    assert sample("ledgerline_billing_runs_total", mode="production", outcome="completed") == runs + 1
    assert sample("ledgerline_billing_run_seconds_count", mode="production", outcome="completed") == timed + 1

    again = await run(invoicing, PERIOD, "production")  # nothing left to bill: nothing issued
    assert again["status"] == "completed" and again["documents"] == []
    assert issued("invoice") == invoices + 2


async def test_a_credit_note_is_counted_once_and_a_refused_one_not_at_all(invoicing: Any) -> None:
    await billable(invoicing, 1)
    number = (await run(invoicing, PERIOD, "production"))["documents"][0]
    notes = issued("credit_note")
    h = invoicing.token("billing")
    first = await invoicing.http.post(f"/api/v1/invoices/{number}/cancel", json={"reason": "a"}, headers=h)
    assert first.status_code == 201, first.text
    assert issued("credit_note") == notes + 1
    again = await invoicing.http.post(f"/api/v1/invoices/{number}/cancel", json={"reason": "b"}, headers=h)
    assert again.status_code == 422
    assert issued("credit_note") == notes + 1


async def test_a_run_failing_as_a_whole_is_counted_failed(invoicing: Any, monkeypatch: Any) -> None:
    await billable(invoicing, 1)

    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the database went away")

    # The runner bills each chunk through the service module's bill_chunk (under its lease).
    monkeypatch.setattr(billing_runs, "bill_chunk", broken)
    failed = sample("ledgerline_billing_runs_total", mode="production", outcome="failed")
    completed = sample("ledgerline_billing_runs_total", mode="production", outcome="completed")
    invoices = issued("invoice")
    state = await run(invoicing, PERIOD, "production")
    assert state["status"] == "failed"
    assert sample("ledgerline_billing_runs_total", mode="production", outcome="failed") == failed + 1
    assert sample("ledgerline_billing_runs_total", mode="production", outcome="completed") == completed
    assert issued("invoice") == invoices


class Refused(Exception):
    pass


async def test_a_document_is_counted_at_commit_and_never_when_rolled_back(invoicing: Any) -> None:
    runtime = invoicing.app.state.runtime
    (made,) = await operator(invoicing, 1)
    lines = [DraftLine("Line", D(2), D("20.00"), D("20.00"), accounting_account="706100")]

    async def issue(uow: InvoicingUnitOfWork) -> None:
        client = await uow.clients.get(made["id"])
        assert client is not None
        await issue_document(
            uow,
            invoicing.settings,
            kind=DocumentType.PROFORMA,
            client=client,
            issue_date=dt.date(2026, 4, 1),
            lines=lines,
        )

    before = issued("proforma")
    uow = InvoicingUnitOfWork(runtime.sessions, runtime.event_sink)
    async with uow:
        with pytest.raises(Refused):
            async with uow.savepoint():  # a billing run's client rolled back alone
                await issue(uow)
                raise Refused
        await issue(uow)
        assert issued("proforma") == before  # not before the commit
        await uow.commit()
    assert issued("proforma") == before + 1
    async with InvoicingUnitOfWork(runtime.sessions, runtime.event_sink) as uow:
        await issue(uow)  # left without commit: rolled back
    assert issued("proforma") == before + 1
