"""On PostgreSQL, an invoice and its credit note handled at the same moment by two consumers (other
topics, other partitions) still end with the status the note carries. Run through deploy/test.sh."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from ledgerline_export.adapters.orm import IssuedDocumentRow
from ledgerline_shared.contracts.document import DocumentType, InvoiceStatus
from ledgerline_shared.testing import fresh_postgres_database

from .conftest import ExportService, export_settings, running

pytestmark = pytest.mark.timeout(120)

LINES = [("Forfait", "2", "50.00", "20.00", "706100")]  # 120.00 gross


@pytest.fixture
async def export_pg(tmp_path: Path) -> AsyncIterator[ExportService]:
    async with fresh_postgres_database() as url:
        settings = export_settings(tmp_path).model_copy(
            update={"export_database_url": url, "sftp_enabled": False}
        )
        async with running(settings) as service:
            yield service


async def test_an_invoice_and_its_note_handled_at_once_end_cancelled(export_pg, make_doc) -> None:
    pairs = []
    for i in range(1, 21):
        invoice = make_doc(f"F2026-{i:06d}", lines=LINES)
        note = make_doc(
            f"AV2026-{i:06d}", DocumentType.CREDIT_NOTE, original=invoice.number, lines=LINES
        ).model_copy(
            update={
                "credited_invoice_status": InvoiceStatus.CANCELLED,
                "credited_invoice_total": Decimal("120.00"),
            }
        )
        pairs.append((invoice, note))
    await asyncio.gather(*(export_pg.issue(d) for pair in pairs for d in pair))
    async with export_pg.runtime.read_sessions() as session:
        rows = await session.execute(
            select(IssuedDocumentRow.number, IssuedDocumentRow.status).where(
                IssuedDocumentRow.type == "invoice"
            )
        )
        statuses = dict(rows.all())
    assert statuses == {invoice.number: "cancelled" for invoice, _ in pairs}
