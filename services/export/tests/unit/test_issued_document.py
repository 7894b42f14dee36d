from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest

from ledgerline_export.domain.issued_document import (
    IssuedDocument,
    IssuedType,
    NotAnIssuedDocument,
)
from ledgerline_shared.contracts.document import Document, DocumentType, InvoiceStatus, Totals


def test_from_document_keeps_what_the_exports_need(make_doc: Callable[..., Document]) -> None:
    doc = make_doc("F2026-000010", client_code="C42", client_name="Garage Dupont")
    issued = IssuedDocument.from_document(doc, status=InvoiceStatus.PARTIALLY_CREDITED, pdf_path="p/F.pdf")
    assert issued.number == "F2026-000010"
    assert issued.type is IssuedType.INVOICE
    assert (issued.client_code, issued.client_name, issued.client_id) == ("C42", "Garage Dupont", "id-C42")
    assert issued.net == doc.totals.net_total and issued.gross == doc.totals.gross_total
    assert issued.vat_total == doc.totals.tax_total
    assert [line.accounting_account for line in issued.lines] == ["706100", "706200"]
    assert issued.status is InvoiceStatus.PARTIALLY_CREDITED and issued.pdf_path == "p/F.pdf"
    assert issued.due_date == dt.date(2026, 3, 2)
    assert issued.client_email == "c42@example.test"


def test_credit_note_keeps_its_original_and_reverses_sign(make_doc: Callable[..., Document]) -> None:
    doc = make_doc("AV2026-000002", kind=DocumentType.CREDIT_NOTE, original="F2026-000001")
    issued = IssuedDocument.from_document(doc)
    assert issued.original_number == "F2026-000001"
    assert issued.sign == -1 and issued.signed_gross == -doc.totals.gross_total


def test_credit_note_written_with_negative_amounts_is_normalised(make_doc: Callable[..., Document]) -> None:
    doc = make_doc("AV2026-000003", kind=DocumentType.CREDIT_NOTE, original="F2026-000001")
    t = doc.totals
    negative = doc.model_copy(
        update={
            "totals": Totals(
                net_total=-t.net_total,
                tax_total=-t.tax_total,
                gross_total=-t.gross_total,
                amount_due=-t.amount_due,
            ),
            "tax_breakdown": [
                s.model_copy(update={"taxable_amount": -s.taxable_amount, "tax_amount": -s.tax_amount})
                for s in doc.tax_breakdown
            ],
            "lines": [
                ln.model_copy(update={"net_amount": -ln.net_amount, "quantity": -ln.quantity})
                for ln in doc.lines
            ],
        }
    )
    assert IssuedDocument.from_document(negative) == IssuedDocument.from_document(doc)
    assert IssuedDocument.from_document(negative).gross > Decimal(0)


def test_preview_is_refused(make_doc: Callable[..., Document]) -> None:
    doc = make_doc("F2026-000001").model_copy(update={"type": DocumentType.PREVIEW, "number": None})
    with pytest.raises(NotAnIssuedDocument):
        IssuedDocument.from_document(doc)


def test_document_without_number_is_refused(make_doc: Callable[..., Document]) -> None:
    doc = make_doc("F2026-000001").model_copy(update={"number": None})
    with pytest.raises(NotAnIssuedDocument):
        IssuedDocument.from_document(doc)
