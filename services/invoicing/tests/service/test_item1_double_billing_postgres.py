"""Issue 11 item 1: two production runs for different periods, at the same time on PostgreSQL, never
bill the same late call record or `once` one-time item twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from typing import Any

from invoicing_api_setup import call, get, operator, post

ROUNDS = 6
CLIENTS = 4


def _month(index: int) -> str:
    """2026-01 + index months, as YYYY-MM."""
    year, month = divmod(index, 12)
    return f"{2026 + year}-{month + 1:02d}"


async def _start(invoicing: Any, period: str) -> str:
    started = await post(
        invoicing, "/api/v1/billing-runs", {"period": period, "mode": "production"}, expect=202
    )
    return str(started["id"])


async def test_item1_two_periods_never_bill_a_call_twice(invoicing_pg: Any) -> None:
    invoicing = invoicing_pg
    clients = await operator(invoicing, clients=CLIENTS)
    sent_calls: list[str] = []
    sent_items: list[str] = []
    documents: list[str] = []
    for round_no in range(ROUNDS):
        base = 3 * round_no  # calls of month `base`, arriving late; runs for base + 1 and base + 2
        records = []
        for n, client in enumerate(clients, start=1):
            for k in range(2):
                cdr_id = f"late-{round_no}-{n}-{k}"
                records.append(
                    call(
                        cdr_id,
                        client["code"],
                        "33145000000",
                        60,
                        started_at=f"{_month(base)}-20T10:00:00+00:00",
                    )
                )
                sent_calls.append(cdr_id)
            label = f"Setup round {round_no} client {n}"
            await post(
                invoicing,
                f"/api/v1/clients/{client['id']}/one-time-items",
                {"article_code": "SETUP", "quantity": "1", "label": label},
            )
            sent_items.append(label)
        await post(invoicing, "/api/v1/usage", records, expect=200)
        run_ids = await asyncio.gather(
            _start(invoicing, _month(base + 1)), _start(invoicing, _month(base + 2))
        )
        for run_id in run_ids:
            await invoicing.app.state.billing_runner.wait(run_id)
            state = await get(invoicing, f"/api/v1/billing-runs/{run_id}")
            assert state["status"] == "completed", state
            documents.extend(state["documents"])

    billed_calls: Counter[str] = Counter()
    billed_labels: Counter[str] = Counter()
    usage_billed = Decimal("0")
    for number in documents:
        detail = await get(invoicing, f"/api/v1/invoices/{number}")
        for line in detail["lines"]:
            if line["label"].startswith("Setup round"):
                billed_labels[line["label"]] += 1
            else:  # the usage line: what the invoice charges for its calls
                usage_billed += Decimal(line["net_amount"])
        consumption = await get(invoicing, f"/api/v1/invoices/{number}/consumption", page_size=1000)
        billed_calls.update(c["cdr_id"] for c in consumption["items"])
    # Every call record and every once-item on exactly one invoice: none lost, none twice.
    assert {cdr: n for cdr, n in billed_calls.items() if n != 1} == {}
    assert sorted(billed_calls) == sorted(sent_calls)
    # Each call costs 0.02 (60 s to a fixed line at 0.02 a minute): charged once, on one invoice.
    assert usage_billed == Decimal("0.02") * len(sent_calls)
    assert {label: n for label, n in billed_labels.items() if n != 1} == {}
    assert sorted(billed_labels) == sorted(sent_items)
    for client in clients:
        items = await get(invoicing, f"/api/v1/clients/{client['id']}/one-time-items")
        assert all(not i["active"] and i["billed_by"] in documents for i in items), items
