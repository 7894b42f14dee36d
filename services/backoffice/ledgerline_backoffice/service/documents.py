"""The document screens' use of the APIs: the month's list, one invoice with everything about it,
its consumption, and the actions on it (send, regenerate, credit notes)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ledgerline_backoffice.adapters.api_client import ApiClient, ApiError
from ledgerline_backoffice.service.sessions import Person


def q(number: str) -> str:
    """A document number as one path segment (never a path of its own)."""
    return quote(number, safe="")


async def month_list(
    api: ApiClient,
    person: Person,
    *,
    month: str,
    type_: str | None,
    status: str | None,
    search: str | None,
    sort: str,
    page: int,
    page_size: int,
) -> dict[str, Any]:
    params = {
        "month": month,
        "type": type_,
        "status": status,
        "q": search,
        "sort": sort,
        "page": page,
        "page_size": page_size,
    }
    result: dict[str, Any] = await api.call(
        "invoicing", "GET", "/api/v1/invoices", person.token, params=params
    )
    return result


@dataclass
class InvoiceView:
    detail: dict[str, Any]
    versions: dict[str, Any] | None  # None until rendering has written the first version
    deliveries: list[dict[str, Any]]
    unavailable: list[str]  # services that did not answer: their part of the page is missing


async def _part(call: Any, default: Any, unavailable: list[str]) -> Any:
    """A part of the page from another service: not there yet (404) or not answering is not fatal."""
    try:
        return await call
    except ApiError as exc:
        if exc.status == 404:
            return default
        if exc.unreachable or exc.status >= 500:
            unavailable.append(exc.service)
            return default
        raise


async def invoice_view(api: ApiClient, person: Person, number: str) -> InvoiceView:
    detail = await api.call("invoicing", "GET", f"/api/v1/invoices/{q(number)}", person.token)
    key = detail.get("number") or detail.get("id") or number
    unavailable: list[str] = []
    versions, deliveries = await asyncio.gather(
        _part(api.call("rendering", "GET", f"/api/v1/documents/{q(key)}", person.token), None, unavailable),
        _part(
            api.call("notification", "GET", "/api/v1/deliveries", person.token, params={"document": key}),
            {"deliveries": []},
            unavailable,
        ),
    )
    return InvoiceView(detail, versions, list(deliveries.get("deliveries", [])), sorted(unavailable))


async def consumption(
    api: ApiClient, person: Person, number: str, page: int, page_size: int
) -> dict[str, Any]:
    result: dict[str, Any] = await api.call(
        "invoicing",
        "GET",
        f"/api/v1/invoices/{q(number)}/consumption",
        person.token,
        params={"page": page, "page_size": page_size},
    )
    return result


async def recipients(api: ApiClient, person: Person, client_id: str) -> list[dict[str, Any]]:
    """Who the envelope would e-mail now: the client's contacts flagged Invoice recipient."""
    contacts = await api.call("invoicing", "GET", f"/api/v1/clients/{q(client_id)}/contacts", person.token)
    return [c for c in contacts if c.get("invoice_recipient")]


async def send(api: ApiClient, person: Person, number: str, doc_type: str) -> dict[str, Any]:
    path = (
        f"/api/v1/proformas/{q(number)}/send"
        if doc_type == "proforma"
        else f"/api/v1/invoices/{q(number)}/send"
    )
    result: dict[str, Any] = await api.call("invoicing", "POST", path, person.token)
    return result


async def regenerate(api: ApiClient, person: Person, number: str) -> None:
    await api.call("invoicing", "POST", f"/api/v1/invoices/{q(number)}/regenerate", person.token)


async def cancel(api: ApiClient, person: Person, number: str, reason: str) -> dict[str, Any]:
    """Method A: a credit note for whatever remains of the invoice."""
    result: dict[str, Any] = await api.call(
        "invoicing", "POST", f"/api/v1/invoices/{q(number)}/cancel", person.token, json={"reason": reason}
    )
    return result


async def credit_partially(
    api: ApiClient, person: Person, number: str, reason: str, lines: list[dict[str, str]]
) -> dict[str, Any]:
    result: dict[str, Any] = await api.call(
        "invoicing",
        "POST",
        f"/api/v1/invoices/{q(number)}/credit-notes",
        person.token,
        json={"reason": reason, "lines": lines},
    )
    return result
