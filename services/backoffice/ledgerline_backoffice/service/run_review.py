"""Documents → Pre-production: a preview run's review by exception and its four-eyes approval (issue 15).

The invoicing API computes the review and judges approvals; the screen only finds the period's latest
preview run, asks for its review and approvals, and relays an approval with the person's own token.
"""

from __future__ import annotations

from typing import Any

from ledgerline_backoffice.adapters.api_client import ApiClient, ApiError
from ledgerline_backoffice.service.documents import q
from ledgerline_backoffice.service.sessions import Person

FLAG_NAMES = {
    "total_change": "Total changed",
    "usage_spike": "Usage spike",
    "no_call_records": "No call records",
    "non_positive_total": "Zero or negative total",
    "no_invoice_recipient": "No invoice recipient",
    "unrated_call_records": "Unrated call records",
    "every_cycle_credit": "Credit billed every cycle",
    "large_first_invoice": "Large first invoice",
}


def flag_name(code: str) -> str:
    return FLAG_NAMES.get(code, code.replace("_", " ").capitalize())


async def latest_preview_run(api: ApiClient, person: Person, period: str) -> dict[str, Any] | None:
    """The period's newest preview run (the API lists runs newest first), None if there is none."""
    answer = await api.call(
        "invoicing",
        "GET",
        "/api/v1/billing-runs",
        person.token,
        params={"period": period, "mode": "preview", "page_size": 1},
    )
    items = answer.get("items") or [] if isinstance(answer, dict) else []
    return dict(items[0]) if items else None


async def review(
    api: ApiClient, person: Person, run_id: str, flag: str | None = None, page: int = 1, page_size: int = 100
) -> dict[str, Any] | None:
    """The run's review, or None while the run is not a completed preview (the API answers 409)."""
    try:
        result: dict[str, Any] = await api.call(
            "invoicing",
            "GET",
            f"/api/v1/billing-runs/{q(run_id)}/review",
            person.token,
            params={"flag": flag or None, "page": page, "page_size": page_size},
        )
    except ApiError as exc:
        if exc.status == 409:
            return None
        raise
    return result


async def approve(
    api: ApiClient, person: Person, run_id: str, comment: str, acknowledged: list[str]
) -> dict[str, Any]:
    body = {"comment": comment or None, "acknowledged_flags": acknowledged}
    result: dict[str, Any] = await api.call(
        "invoicing", "POST", f"/api/v1/billing-runs/{q(run_id)}/approve", person.token, json=body
    )
    return result


async def last_invoice(api: ApiClient, person: Person, number: str) -> dict[str, Any] | None:
    """The client's last invoice to set beside a flagged preview; None if it cannot be read."""
    try:
        result: dict[str, Any] = await api.call(
            "invoicing", "GET", f"/api/v1/invoices/{q(number)}", person.token
        )
    except ApiError as exc:
        if exc.status in (403, 404):
            return None
        raise
    return result


def started_by(review_report: dict[str, Any], person: Person) -> bool:
    """Whether this person started the preview run (four eyes: they may not approve it)."""
    return bool(review_report.get("started_by")) and review_report.get("started_by") == person.username
