"""Export's metrics move once committed: documents recorded in the read model (a redelivered event
counts once), export jobs by kind and outcome."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

pytestmark = pytest.mark.timeout(60)

EMAIL = "alice@operator.example"
JANUARY = {"from": "2026-01-01", "to": "2026-01-31"}


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_document_recorded_twice_counts_once(export, make_doc) -> None:
    before = sample("ledgerline_export_documents_recorded_total", type="invoice")
    invoice = make_doc("F2026-000001")
    await export.deliver("invoice.issued", "F2026-000001", invoice, ce_id="same-id")
    await export.deliver("invoice.issued", "F2026-000001", invoice, ce_id="same-id")  # redelivered
    assert sample("ledgerline_export_documents_recorded_total", type="invoice") == before + 1


async def test_export_jobs_are_counted_by_kind_and_outcome(export, make_doc) -> None:
    completed = sample("ledgerline_exports_total", kind="accounting", outcome="completed")
    failed = sample("ledgerline_exports_total", kind="accounting", outcome="failed")
    headers = export.token("accounting", email=EMAIL)
    await export.issue(make_doc("F2026-000001"))
    body = {"kind": "accounting", "format": "fec", **JANUARY}
    done = await export.finished(
        (await export.http.post("/api/v1/exports", json=body, headers=headers)).json()["id"], headers
    )
    assert done["status"] == "completed", done
    assert sample("ledgerline_exports_total", kind="accounting", outcome="completed") == completed + 1
    # 7 % VAT has no collected-VAT account in the plan: no FEC entry can be written for it.
    await export.issue(make_doc("F2026-000002", lines=[("Forfait", "1", "10.00", "7.00", "706100")]))
    answer = await export.http.post("/api/v1/exports", json=body, headers=headers)
    broken = await export.finished(answer.json()["id"], headers)
    assert broken["status"] == "failed", broken
    assert sample("ledgerline_exports_total", kind="accounting", outcome="failed") == failed + 1
    assert sample("ledgerline_exports_total", kind="accounting", outcome="completed") == completed + 1
