"""The export service's read model of one issued document: a plain record built from the shared `Document`.

Amount convention (docs/decisions: export): amounts are kept *unsigned as issued*, like UBL's CreditNote,
whatever sign convention the producer used (a credit note arriving with negative totals is turned
positive). `sign` (-1 for credit notes) gives the accounting direction; list and Excel exports show
`signed_*` amounts so that a column total is the month's net revenue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from ledgerline_shared.contracts.document import Document, DocumentType, InvoiceStatus


class IssuedType(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    PROFORMA = "proforma"


def is_newer_rendering(stored_version: int, incoming_version: int) -> bool:
    """Rendered files of a later version replace those kept; a late, older version never does."""
    return incoming_version > stored_version


class NotAnIssuedDocument(ValueError):
    """A preview, or a document without a number: it has no place in the export read model."""


@dataclass(frozen=True, slots=True)
class ClientAddress:
    line1: str
    line2: str | None
    postcode: str
    city: str
    country: str


@dataclass(frozen=True, slots=True)
class IssuedLine:
    label: str
    accounting_account: str | None
    quantity: Decimal
    unit_price: Decimal
    net: Decimal
    vat_rate: Decimal


@dataclass(frozen=True, slots=True)
class VatAmount:
    rate: Decimal
    taxable: Decimal
    tax: Decimal


@dataclass(frozen=True, slots=True)
class IssuedDocument:
    number: str
    type: IssuedType
    issue_date: dt.date
    due_date: dt.date | None
    client_id: str | None
    client_code: str
    client_name: str
    currency: str
    net: Decimal
    vat: tuple[VatAmount, ...]
    gross: Decimal
    lines: tuple[IssuedLine, ...]
    status: InvoiceStatus = InvoiceStatus.ISSUED
    original_number: str | None = None
    pdf_path: str | None = None
    client_email: str | None = None
    client_address: ClientAddress | None = None

    @property
    def vat_total(self) -> Decimal:
        return sum((v.tax for v in self.vat), Decimal("0.00"))

    @property
    def sign(self) -> int:
        """Accounting direction: a credit note reverses revenue."""
        return -1 if self.type is IssuedType.CREDIT_NOTE else 1

    @property
    def signed_net(self) -> Decimal:
        return self.net * self.sign

    @property
    def signed_vat_total(self) -> Decimal:
        return self.vat_total * self.sign

    @property
    def signed_gross(self) -> Decimal:
        return self.gross * self.sign

    def vat_for_rate(self, rate: Decimal) -> Decimal:
        return sum((v.tax for v in self.vat if v.rate == rate), Decimal("0.00"))

    @property
    def is_accounting_document(self) -> bool:
        """Proformas are quotes/requests for payment, not accounting documents: no journal entry."""
        return self.type is not IssuedType.PROFORMA

    @classmethod
    def from_document(
        cls,
        doc: Document,
        *,
        status: InvoiceStatus = InvoiceStatus.ISSUED,
        pdf_path: str | None = None,
    ) -> IssuedDocument:
        if doc.type is DocumentType.PREVIEW or not doc.number:
            raise NotAnIssuedDocument(f"document {doc.key} is a preview or has no number")
        kind = IssuedType(doc.type.value)
        # Producers may write credit notes with negative amounts; the read model keeps them as issued
        # (positive) so `sign` alone carries the direction.
        flip = kind is IssuedType.CREDIT_NOTE and doc.totals.gross_total < 0
        k = Decimal(-1) if flip else Decimal(1)
        buyer = doc.buyer
        original = doc.references[0].number if kind is IssuedType.CREDIT_NOTE and doc.references else None
        return cls(
            number=doc.number,
            type=kind,
            issue_date=doc.issue_date,
            due_date=doc.due_date,
            client_id=buyer.client_id,
            client_code=buyer.code or buyer.client_id or "",
            client_name=buyer.name,
            currency=doc.currency,
            net=doc.totals.net_total * k,
            vat=tuple(
                VatAmount(rate=t.vat_rate, taxable=t.taxable_amount * k, tax=t.tax_amount * k)
                for t in sorted(doc.tax_breakdown, key=lambda t: t.vat_rate, reverse=True)
            ),
            gross=doc.totals.gross_total * k,
            lines=tuple(
                IssuedLine(
                    label=line.label,
                    accounting_account=line.accounting_account,
                    quantity=line.quantity * k,
                    unit_price=line.unit_price,
                    net=line.net_amount * k,
                    vat_rate=line.vat_rate,
                )
                for line in doc.lines
            ),
            status=status,
            original_number=original,
            pdf_path=pdf_path,
            client_email=buyer.email or (buyer.recipients[0].email if buyer.recipients else None),
            client_address=ClientAddress(
                line1=buyer.address.line1,
                line2=buyer.address.line2,
                postcode=buyer.address.postcode,
                city=buyer.address.city,
                country=buyer.address.country,
            ),
        )
