"""Invoicing's unit of work: a savepoint rolled back takes its events with it (a billing-run client
rolled back alone publishes nothing), and rows a use case returns stay readable."""

from __future__ import annotations

from typing import Any

import pytest
from invoicing_api_setup import client_body, post
from pydantic import BaseModel

from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork


class Noted(BaseModel):
    text: str


class Refused(Exception):
    pass


async def test_a_rolled_back_savepoint_drops_the_events_emitted_inside_it(invoicing: Any) -> None:
    runtime = invoicing.app.state.runtime
    woken: list[str] = []
    uow = InvoicingUnitOfWork(runtime.sessions, runtime.event_sink, wake=lambda: woken.append("wake"))
    async with uow:
        uow.emit("t.kept", "a", Noted(text="before"))
        with pytest.raises(Refused):
            async with uow.savepoint():
                uow.emit("t.dropped", "b", Noted(text="inside"))
                uow.after_commit(lambda: woken.append("dropped"))
                raise Refused
        async with uow.savepoint():
            uow.emit("t.kept", "c", Noted(text="inside, kept"))
        await uow.commit()
    assert [(e["topic"], e["key"]) for e in await invoicing.outbox()] == [("t.kept", "a"), ("t.kept", "c")]
    assert woken == ["wake"]


async def test_rows_read_by_a_read_only_unit_stay_readable_after_it(invoicing: Any) -> None:
    made = await post(invoicing, "/api/v1/clients", client_body("RO1", plan=None))
    runtime = invoicing.app.state.runtime
    async with InvoicingUnitOfWork(runtime.read_sessions, runtime.event_sink, read_only=True) as uow:
        client = await uow.clients.get(made["id"])
    assert client is not None and client.code == "RO1"  # not expired by the closing rollback
