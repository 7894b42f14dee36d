"""Exports through the export API: Excel, grouped PDF and accounting jobs, and one's SFTP access."""

from __future__ import annotations

from typing import Any

from ledgerline_backoffice.adapters.api_client import ApiClient
from ledgerline_backoffice.domain.progress import progress
from ledgerline_backoffice.service.documents import q
from ledgerline_backoffice.service.sessions import Person

KINDS = ("excel", "grouped_pdf", "accounting")
ACCOUNTING_FORMATS = {
    "fec": "FEC (France, Fichier des écritures comptables)",
    "datev": "DATEV (Germany, EXTF Buchungsstapel)",
    "iif": "QuickBooks (IIF)",
    "xero": "Xero (sales invoices CSV)",
    "csv": "Journal CSV",
}


async def start(
    api: ApiClient, person: Person, kind: str, date_from: str, date_to: str, fmt: str | None = None
) -> str:
    body: dict[str, Any] = {"kind": kind, "from": date_from, "to": date_to}
    if fmt:
        body["format"] = fmt
    answer = await api.call("export", "POST", "/api/v1/exports", person.token, json=body)
    return str(answer["id"])


async def job(api: ApiClient, person: Person, export_id: str) -> dict[str, Any]:
    result: dict[str, Any] = await api.call("export", "GET", f"/api/v1/exports/{q(export_id)}", person.token)
    return result


def progress_of(job: dict[str, Any]) -> dict[str, Any]:
    counters = job.get("progress") or {}
    return progress(job.get("status"), counters.get("done"), counters.get("total"))


async def sftp_login(api: ApiClient, person: Person) -> dict[str, Any]:
    result: dict[str, Any] = await api.call("export", "GET", "/api/v1/me/sftp", person.token)
    return result


async def new_sftp_password(api: ApiClient, person: Person) -> dict[str, Any]:
    """A new password, shown once: it is in this answer and nowhere else."""
    result: dict[str, Any] = await api.call("export", "POST", "/api/v1/me/sftp/password", person.token)
    return result
