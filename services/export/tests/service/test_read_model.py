"""The read model is built from the events alone, idempotently and whatever their order."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ledgerline_export.adapters.orm import IssuedDocumentRow
from ledgerline_export.entrypoints.subscribers import on_document
from ledgerline_shared.contracts.document import DocumentType
from ledgerline_shared.messaging.consumer import PermanentError

pytestmark = pytest.mark.timeout(60)


async def rows(export) -> dict[str, IssuedDocumentRow]:
    async with export.runtime.sessions() as session:
        found = (await session.scalars(select(IssuedDocumentRow))).all()
    return {r.number: r for r in found}


async def test_issued_documents_and_their_latest_files_are_recorded(export, make_doc) -> None:
    invoice = make_doc("F2026-000001")
    await export.issue(invoice)
    await export.render(invoice, version=1)
    await export.render(invoice, version=2)
    await export.render(invoice, version=1)  # a late, older version never wins

    row = (await rows(export))["F2026-000001"]
    assert row.type == "invoice" and row.status == "issued" and row.month == "2026-01"
    assert row.client_code == "C0001" and row.client_name == "Boulangerie Martin"
    assert row.gross == invoice.totals.gross_total and row.net == invoice.totals.net_total
    assert row.version == 2
    assert row.pdf_path == "versions/F2026-000001/v2/F2026-000001.pdf"
    assert row.ubl_path == "versions/F2026-000001/v2/F2026-000001.xml"
    assert row.json_path == "versions/F2026-000001/v2/F2026-000001.json"
    assert row.document is not None and '"F2026-000001"' in row.document


async def test_a_redelivered_event_is_applied_once(export, make_doc) -> None:
    invoice = make_doc("F2026-000001")
    await export.deliver("invoice.issued", "F2026-000001", invoice, ce_id="same-id")
    await export.deliver("invoice.issued", "F2026-000001", invoice, ce_id="same-id")
    stats = export.runtime.consumer.stats.topics["invoice.issued"]
    assert (stats.handled, stats.duplicates) == (1, 1)
    assert list(await rows(export)) == ["F2026-000001"]


async def test_credit_notes_set_the_invoice_status_in_any_order(export, make_doc) -> None:
    invoice = make_doc("F2026-000001", lines=[("Forfait", "2", "50.00", "20.00", "706100")])
    half = make_doc(
        "AV2026-000001",
        DocumentType.CREDIT_NOTE,
        original="F2026-000001",
        lines=[("Forfait", "1", "50.00", "20.00", "706100")],
    )
    rest = make_doc(
        "AV2026-000002",
        DocumentType.CREDIT_NOTE,
        original="F2026-000001",
        lines=[("Forfait", "1", "50.00", "20.00", "706100")],
    )
    await export.issue(half)  # the credit note arrives before its invoice
    await export.issue(invoice)
    assert (await rows(export))["F2026-000001"].status == "partially_credited"
    await export.issue(rest)
    found = await rows(export)
    assert found["F2026-000001"].status == "credited"
    assert found["AV2026-000001"].original_number == "F2026-000001"


async def test_a_rendering_seen_before_the_issue_event_is_kept(export, make_doc) -> None:
    invoice = make_doc("F2026-000007", issue_date=dt.date(2026, 3, 2))
    await export.render(invoice)
    early = (await rows(export))["F2026-000007"]
    assert early.document is None and early.pdf_path is not None
    await export.issue(invoice)
    row = (await rows(export))["F2026-000007"]
    assert row.document is not None and row.pdf_path == early.pdf_path and row.month == "2026-03"


async def test_a_preview_on_an_issue_topic_is_refused_for_good(export, make_doc) -> None:
    preview = make_doc("F2026-000001").model_copy(update={"type": DocumentType.PREVIEW, "number": None})
    async with export.runtime.sessions() as session, session.begin():
        with pytest.raises(PermanentError):
            await on_document(export.runtime.event_sink)(_inbound(preview), session)
    assert await rows(export) == {}


def _inbound(data):  # type: ignore[no-untyped-def]
    from ledgerline_shared.cloudevents import Envelope
    from ledgerline_shared.messaging.consumer import Inbound

    return Inbound(Envelope.new(source="/t", type="invoice.issued"), data, None, "invoice.issued", 0, 0)
