"""Fixtures of the export tests. Realistic shared `Document`s, with amounts computed by the spec's rules
(line net half-up to the cent, VAT per rate on the sum of the nets), independently of the code under test."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncssh
import pytest
import pytest_asyncio
from export_documents import four_rates_invoice, make_document, negative_line_invoice
from sftp_test_server import Server, Store, connect, make_store, serving

from ledgerline_export.domain.issued_document import IssuedDocument
from ledgerline_shared.contracts.document import (
    Document,
    DocumentType,
)


def month_documents() -> list[Document]:
    """A January: invoices at several rates, a credit-note article line, a credit note, a proforma."""
    return [
        make_document("F2026-000001"),
        four_rates_invoice(),
        negative_line_invoice(),
        make_document(
            "AV2026-000001",
            kind=DocumentType.CREDIT_NOTE,
            issue_date=dt.date(2026, 1, 25),
            lines=[("Forfait mobile 20 Go", "1", "19.99", "20.00", "706100")],
            original="F2026-000001",
        ),
        make_document(
            "PF2026-000001",
            kind=DocumentType.PROFORMA,
            client_code="C0002",
            client_name="Hôtel du Lac",
            issue_date=dt.date(2026, 1, 28),
            lines=[("Remise exceptionnelle", "1", "-50.00", "20.00", "706100")],
        ),
    ]


DANGEROUS_NAMES = ["=1+2", "+33 cmd", "-2+3", "@SUM(A1)", "\tTabbed", "\rCarriage"]


MakeDocument = Callable[..., Document]


@pytest.fixture
def make_doc() -> MakeDocument:
    """The factory itself: tests build the documents their case needs."""
    return make_document


@pytest.fixture
def month_docs() -> list[Document]:
    return month_documents()


@pytest.fixture
def month(month_docs: list[Document]) -> list[IssuedDocument]:
    return [IssuedDocument.from_document(d) for d in month_docs]


@pytest.fixture
def dangerous_names() -> list[str]:
    return list(DANGEROUS_NAMES)


# ---- the SFTP server under test (sftp_test_server.py) ------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return make_store(tmp_path)


@pytest_asyncio.fixture
async def server(store: Store, tmp_path: Path) -> AsyncIterator[Server]:
    async with serving(store, tmp_path) as running:
        yield running


@pytest_asyncio.fixture
async def sftp(server: Server) -> AsyncIterator[asyncssh.SFTPClient]:
    async with await connect(server) as conn, conn.start_sftp_client() as client:
        yield client
