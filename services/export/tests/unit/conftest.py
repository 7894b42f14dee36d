"""Fixtures of the export tests. Realistic shared `Document`s, with amounts computed by the spec's rules
(line net half-up to the cent, VAT per rate on the sum of the nets), independently of the code under test."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from export_documents import make_document

from ledgerline_export.domain.issued_document import IssuedDocument
from ledgerline_shared.contracts.document import (
    Document,
    DocumentType,
)


def month_documents() -> list[Document]:
    """A January: invoices at several rates, a credit-note article line, a credit note, a proforma."""
    return [
        make_document("F2026-000001"),
        make_document(
            "F2026-000002",
            client_code="C0002",
            client_name="Hôtel du Lac",
            issue_date=dt.date(2026, 1, 15),
            lines=[
                ("Fibre pro", "1", "59.90", "20.00", "706100"),
                ("Restauration séminaire", "7", "13.33", "10.00", "706300"),
                ("Livres", "3", "7.77", "5.50", "707000"),
                ("Presse", "2", "1.49", "2.10", "707000"),
            ],
        ),
        make_document(
            "F2026-000003",
            client_code="C0003",
            client_name='=HYPERLINK("http://x")',
            issue_date=dt.date(2026, 1, 20),
            lines=[
                ("Forfait", "1", "100.00", "20.00", "706100"),
                ("Avoir geste commercial", "1", "-30.00", "20.00", "706100"),
            ],
        ),
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
