"""Issue 11 item 2, at the API and on the dashboard: a proforma or credit note of more than 1,000
lines is refused with 422 before anything is stored, and a parked outbox row is shown."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert

from ledgerline_shared.contracts.document import MAX_DOCUMENT_LINES

CLIENT = {
    "name": "ACME SARL",
    "address": {"line1": "1 rue A", "postcode": "75001", "city": "Paris", "country": "FR"},
}


def _lines(count: int, price: str) -> list[dict[str, str]]:
    return [
        {"label": f"Line {n}", "quantity": "1", "unit_price": price, "vat_rate": "20.00"}
        for n in range(count)
    ]


async def test_item2_documents_over_the_line_limit_are_refused(invoicing: Any) -> None:
    h = invoicing.token("billing")
    client = (await invoicing.http.post("/api/v1/clients", json=CLIENT, headers=h)).json()
    too_many = await invoicing.http.post(
        f"/api/v1/clients/{client['id']}/proformas",
        json={"lines": _lines(MAX_DOCUMENT_LINES + 1, "1.00")},
        headers=h,
    )
    assert too_many.status_code == 422, too_many.text
    assert "1000" in too_many.text
    assert await invoicing.outbox() == []  # nothing numbered, nothing queued
    at_limit = await invoicing.http.post(
        f"/api/v1/clients/{client['id']}/proformas",
        json={"lines": _lines(MAX_DOCUMENT_LINES, "1.00")},
        headers=h,
    )
    assert at_limit.status_code == 201, at_limit.text
    number = at_limit.json()["number"]
    # A credit note asked with too many lines: refused, and the proforma's state is unchanged.
    credit = await invoicing.http.post(
        f"/api/v1/invoices/{number}/credit-notes",
        json={"reason": "too long", "lines": _lines(MAX_DOCUMENT_LINES + 1, "0.01")},
        headers=h,
    )
    assert credit.status_code == 422, credit.text
    assert len(await invoicing.outbox()) == 1


async def test_item2_parked_outbox_rows_are_on_the_dashboard(invoicing: Any) -> None:
    runtime = invoicing.app.state.runtime
    parked = runtime.tables.parked_outbox
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            insert(parked).values(
                id=41,
                ce_id="0b9e1c52-2f57-4f5b-9d61-1f3c2d7a0001",
                topic="proforma.created",
                key="PF2026-000041",
                headers="[]",
                payload="{}",
                created_at=dt.datetime.now(dt.UTC),
                error="MessageSizeTooLargeError: The message is 1300000 bytes when serialized",
                parked_at=dt.datetime.now(dt.UTC),
            )
        )
    page = await runtime.render_dashboard()
    assert "1 parked" in page
    assert "PF2026-000041" in page and "MessageSizeTooLargeError" in page
