"""Documents → Pre-production: start a preview or production run, follow it, list the previews."""

from __future__ import annotations

from typing import Any

from ledgerline_backoffice.adapters.api_client import ApiClient
from ledgerline_backoffice.domain.progress import progress
from ledgerline_backoffice.service.documents import q
from ledgerline_backoffice.service.sessions import Person

MODES = ("preview", "production")


async def start(api: ApiClient, person: Person, period: str, mode: str) -> str:
    answer = await api.call(
        "invoicing", "POST", "/api/v1/billing-runs", person.token, json={"period": period, "mode": mode}
    )
    return str(answer["id"])


async def status(api: ApiClient, person: Person, run_id: str) -> dict[str, Any]:
    result: dict[str, Any] = await api.call(
        "invoicing", "GET", f"/api/v1/billing-runs/{q(run_id)}", person.token
    )
    return result


async def previews(api: ApiClient, person: Person, period: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = await api.call(
        "invoicing", "GET", "/api/v1/previews", person.token, params={"period": period}
    )
    return result


def progress_of(run: dict[str, Any]) -> dict[str, Any]:
    """What the progress bar polls: the run's state without its (long) lists of documents."""
    counters = run.get("progress") or {}
    return progress(run.get("status"), counters.get("done"), counters.get("total"))
