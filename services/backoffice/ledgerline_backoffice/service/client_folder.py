"""The client record's use of the invoicing API: identity, contacts, folder items, invoices, proformas."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from ledgerline_backoffice.adapters.api_client import ApiClient
from ledgerline_backoffice.service.documents import q
from ledgerline_backoffice.service.sessions import Person

LAST_INVOICES = 5


async def search(api: ApiClient, person: Person, text: str | None, page: int, page_size: int) -> list[Any]:
    params = {"q": text, "limit": page_size + 1, "offset": (page - 1) * page_size}
    result: list[Any] = await api.call("invoicing", "GET", "/api/v1/clients", person.token, params=params)
    return result  # one more than a page: tells whether a next page exists


@dataclass
class ClientRecord:
    client: dict[str, Any]
    contacts: list[dict[str, Any]]
    subscriptions: list[dict[str, Any]]
    one_time_items: list[dict[str, Any]]
    last_invoices: list[dict[str, Any]]
    articles: list[dict[str, Any]]

    @property
    def article_labels(self) -> dict[str, str]:
        return {str(a["code"]): str(a["label"]) for a in self.articles}


async def record(api: ApiClient, person: Person, client_id: str) -> ClientRecord:
    base = f"/api/v1/clients/{q(client_id)}"
    token = person.token
    client, contacts, subscriptions, items, invoices, articles = await asyncio.gather(
        api.call("invoicing", "GET", base, token),
        api.call("invoicing", "GET", f"{base}/contacts", token),
        api.call("invoicing", "GET", f"{base}/subscriptions", token),
        api.call("invoicing", "GET", f"{base}/one-time-items", token),
        api.call("invoicing", "GET", f"{base}/invoices", token, params={"limit": LAST_INVOICES}),
        api.call("invoicing", "GET", "/api/v1/articles", token),
    )
    return ClientRecord(client, contacts, subscriptions, items, invoices, articles)


async def history(
    api: ApiClient, person: Person, client_id: str, page: int, page_size: int
) -> tuple[dict[str, Any], list[Any]]:
    base = f"/api/v1/clients/{q(client_id)}"
    client, documents = await asyncio.gather(
        api.call("invoicing", "GET", base, person.token),
        # The API pages by page_size (no total): a full page means there may be a next one.
        api.call(
            "invoicing",
            "GET",
            f"{base}/invoices",
            person.token,
            params={"page": page, "page_size": page_size},
        ),
    )
    return client, documents


async def set_recipient(api: ApiClient, person: Person, contact_id: str, recipient: bool) -> dict[str, Any]:
    result: dict[str, Any] = await api.call(
        "invoicing",
        "PATCH",
        f"/api/v1/contacts/{q(contact_id)}",
        person.token,
        json={"invoice_recipient": recipient},
    )
    return result


async def add_one_time_item(api: ApiClient, person: Person, client_id: str, item: dict[str, Any]) -> None:
    """Method C when the article is a credit-note one and the price negative."""
    await api.call(
        "invoicing", "POST", f"/api/v1/clients/{q(client_id)}/one-time-items", person.token, json=item
    )


async def set_item_active(api: ApiClient, person: Person, item_id: str, active: bool) -> None:
    await api.call(
        "invoicing", "PATCH", f"/api/v1/one-time-items/{q(item_id)}", person.token, json={"active": active}
    )


async def create_proforma(
    api: ApiClient, person: Person, client_id: str, lines: list[dict[str, str]], reason: str | None
) -> dict[str, Any]:
    """Method B: numbered and rendered at once, sent only on request."""
    body: dict[str, Any] = {"lines": lines}
    if reason:
        body["reason"] = reason
    result: dict[str, Any] = await api.call(
        "invoicing", "POST", f"/api/v1/clients/{q(client_id)}/proformas", person.token, json=body
    )
    return result
