"""Small builders for the service tests: a rate plan, clients, catalog, call records, via the HTTP API."""

from __future__ import annotations

from typing import Any

PLAN: dict[str, Any] = {
    "code": "PRO",
    "rules": [
        {
            "prefix": "33",
            "label": "France fixe",
            "kind": "voice",
            "unit_price": "0.0200",
            "increment": "60/60",
        },
        {
            "prefix": "336",
            "label": "France mobile",
            "kind": "voice",
            "unit_price": "0.1200",
            "connection_fee": "0.0500",
            "increment": "1/1",
        },
        {
            "prefix": "44",
            "label": "Royaume-Uni",
            "kind": "voice",
            "unit_price": "0.3000",
            "increment": "30/30",
        },
        {
            "prefix": "1",
            "label": "USA/Canada",
            "kind": "voice",
            "unit_price": "0.1000",
            "connection_fee": "0.1000",
            "increment": "60/1",
        },
        {"prefix": "336", "label": "SMS France", "kind": "sms", "unit_price": "0.0500"},
        {"prefix": "", "label": "Data", "kind": "data", "unit_price": "0.0100"},
    ],
}

CATALOG: list[dict[str, Any]] = [
    {
        "code": "LINE",
        "label": "Ligne SIP",
        "kind": "recurring",
        "unit_price": "25.00",
        "vat_rate": "20.00",
        "accounting_account": "706100",
    },
    {
        "code": "SETUP",
        "label": "Frais de mise en service",
        "kind": "one_time",
        "unit_price": "49.00",
        "vat_rate": "20.00",
        "accounting_account": "706200",
    },
    {
        "code": "AVOIR",
        "label": "Geste commercial",
        "kind": "credit_note",
        "unit_price": "-10.00",
        "vat_rate": "20.00",
        "accounting_account": "709000",
    },
    {
        "code": "CONSO",
        "label": "Consommations",
        "kind": "usage",
        "unit_price": "0",
        "vat_rate": "20.00",
        "accounting_account": "706300",
    },
]


def client_body(code: str, name: str | None = None, plan: str | None = "PRO", **extra: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": name or f"Client {code}",
        "address": {"line1": "1 rue A", "postcode": "75001", "city": "Paris", "country": "FR"},
        "rate_plan_code": plan,
        **extra,
    }


def call(
    cdr_id: str,
    account: str,
    callee: str,
    duration_s: int | None = 60,
    *,
    kind: str = "voice",
    units: str | None = None,
    started_at: str = "2026-03-10T10:00:00+01:00",
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "cdr_id": cdr_id,
        "account": account,
        "started_at": started_at,
        "kind": kind,
        "caller": "33140000000",
        "callee": callee,
    }
    if duration_s is not None and kind == "voice":
        record["duration_s"] = duration_s
    if units is not None:
        record["units"] = units
    return record


async def post(invoicing: Any, path: str, body: Any, expect: int = 201) -> Any:
    answer = await invoicing.http.post(path, json=body, headers=invoicing.token("billing"))
    assert answer.status_code == expect, answer.text
    return answer.json()


async def get(invoicing: Any, path: str, **params: Any) -> Any:
    answer = await invoicing.http.get(path, params=params, headers=invoicing.token("readonly"))
    assert answer.status_code == 200, answer.text
    return answer.json()


async def operator(invoicing: Any, clients: int = 1) -> list[dict[str, Any]]:
    """The plan, the catalog, and `clients` clients on the plan, each with one invoice recipient."""
    await post(invoicing, "/api/v1/rate-plans", PLAN)
    for article in CATALOG:
        await post(invoicing, "/api/v1/articles", article)
    made = []
    for n in range(1, clients + 1):
        client = await post(invoicing, "/api/v1/clients", client_body(f"ACME{n}", f"Acme {n} SARL"))
        await post(
            invoicing,
            f"/api/v1/clients/{client['id']}/contacts",
            {"name": f"Compta {n}", "email": f"compta{n}@acme.test", "invoice_recipient": True},
        )
        made.append(client)
    return made


async def run(invoicing: Any, period: str, mode: str, client_ids: list[str] | None = None) -> dict[str, Any]:
    """Start a billing run, wait for it, answer its final state."""
    body: dict[str, Any] = {"period": period, "mode": mode}
    if client_ids is not None:
        body["client_ids"] = client_ids
    started = await post(invoicing, "/api/v1/billing-runs", body, expect=202)
    await invoicing.app.state.billing_runner.wait(started["id"])
    state: dict[str, Any] = await get(invoicing, f"/api/v1/billing-runs/{started['id']}")
    return state
