"""EN 16931 semantics of a Document, shared by the UBL and the CII (Factur-X) writers.

Decisions (also in the lead's docs):
- Type codes (UNTDID 1001): invoice 380, credit note 381, proforma 325. 325 is in the CEN EN 16931
  code list (schematron BR-CL-01 allows it; Peppol BIS restricts it further, we do not target Peppol).
- Previews have no legal number, so they get no e-invoice XML at all (an XML without BT-1 is not
  an invoice and must not be mistaken for one).
- A credit note carries positive amounts in EN 16931 (381 already means "credit"). If the invoicing
  service sent a credit note with negative totals, every amount is negated here.
- BR-27: an item net price is never negative, so a negative line is written as a negative quantity
  at a positive price (the line net amount keeps its sign).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from ledgerline_rendering.domain.branding import Branding
from ledgerline_shared.contracts.document import Document, DocumentType, Party

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017"
SIREN_SCHEME = "0002"  # ISO 6523 ICD of the French SIRENE register
SEPA_CREDIT_TRANSFER = "58"  # UNTDID 4461

TYPE_CODES: dict[DocumentType, str] = {
    DocumentType.INVOICE: "380",
    DocumentType.PROFORMA: "325",
    DocumentType.CREDIT_NOTE: "381",
}

EXEMPTION_REASONS = {
    "fr": "Exonération de TVA",
    "en": "Exempt from VAT",
}


class NotAnEInvoice(ValueError):
    """A document that cannot be expressed as an EN 16931 invoice (a preview: no number)."""


@dataclass(frozen=True)
class EInvoiceLine:
    line_id: str
    name: str
    article_code: str | None
    quantity: Decimal
    unit_code: str
    price: Decimal
    net_amount: Decimal
    category: str
    rate: Decimal
    period_start: dt.date | None
    period_end: dt.date | None


@dataclass(frozen=True)
class EInvoiceTax:
    category: str
    rate: Decimal
    taxable_amount: Decimal
    tax_amount: Decimal
    exemption_reason: str | None


@dataclass(frozen=True)
class EInvoice:
    number: str
    type_code: str
    is_credit_note: bool
    issue_date: dt.date
    due_date: dt.date | None
    delivery_date: dt.date
    currency: str
    notes: tuple[str, ...]
    period_start: dt.date | None
    period_end: dt.date | None
    seller: Party
    buyer: Party
    iban: str
    bic: str
    payment_terms: str
    original_number: str | None
    original_date: dt.date | None
    lines: tuple[EInvoiceLine, ...]
    taxes: tuple[EInvoiceTax, ...]
    net_total: Decimal
    tax_total: Decimal
    gross_total: Decimal
    amount_due: Decimal


def price_text(value: Decimal) -> str:
    """A unit price in the XML: exact (never rounded: BT-146 times the quantity gives the line
    net), its significant decimals and at least two, no grouping. 7.500000 -> 7.50."""
    value = value.normalize()
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        value = value.quantize(Decimal("0.01"))
    return format(value, "f")


def _category_for_rate(document: Document, rate: Decimal) -> str:
    if rate > 0:
        return "S"
    for subtotal in document.tax_breakdown:
        if subtotal.vat_rate == rate:
            return subtotal.category
    return "Z"


def _period_bounds(period: str | None) -> tuple[dt.date | None, dt.date | None]:
    if period is None:
        return None, None
    year, month = (int(part) for part in period.split("-"))
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def _payment_terms(document: Document) -> str:
    if document.language == "en":
        return f"Bank transfer within {document.payment_terms_days} days"
    return f"Virement à {document.payment_terms_days} jours"


def to_einvoice(document: Document, branding: Branding) -> EInvoice:
    if document.type is DocumentType.PREVIEW or document.number is None:
        raise NotAnEInvoice(f"document {document.id} has no legal number")
    sign = Decimal(-1) if document.type is DocumentType.CREDIT_NOTE and document.totals.gross_total < 0 else 1
    lines = []
    for line in document.lines:
        quantity, price = line.quantity * sign, line.unit_price
        if price < 0:
            quantity, price = -quantity, -price
        lines.append(
            EInvoiceLine(
                line_id=str(line.line_no),
                name=line.label,
                article_code=line.article_code,
                quantity=quantity,
                unit_code=line.unit,
                price=price,
                net_amount=line.net_amount * sign,
                category=_category_for_rate(document, line.vat_rate),
                rate=line.vat_rate,
                period_start=line.period_start,
                period_end=line.period_end,
            )
        )
    taxes = tuple(
        EInvoiceTax(
            category=subtotal.category,
            rate=subtotal.vat_rate,
            taxable_amount=subtotal.taxable_amount * sign,
            tax_amount=subtotal.tax_amount * sign,
            exemption_reason=EXEMPTION_REASONS[document.language] if subtotal.category == "E" else None,
        )
        for subtotal in document.tax_breakdown
    )
    notes = tuple(note for note in (document.reason,) if note)
    original = document.references[0] if document.references else None
    period_start, period_end = _period_bounds(document.period)
    return EInvoice(
        number=document.number,
        type_code=TYPE_CODES[document.type],
        is_credit_note=document.type is DocumentType.CREDIT_NOTE,
        issue_date=document.issue_date,
        due_date=document.due_date,
        # BT-72: services are delivered over the period; its last day, else the issue date.
        delivery_date=period_end or document.issue_date,
        currency=document.currency,
        notes=notes,
        period_start=period_start,
        period_end=period_end,
        seller=branding.seller(),
        buyer=document.buyer,
        iban=branding.iban.replace(" ", ""),
        bic=branding.bic,
        payment_terms=_payment_terms(document),
        original_number=original.number if original else None,
        original_date=original.issue_date if original else None,
        lines=tuple(lines),
        taxes=taxes,
        net_total=document.totals.net_total * sign,
        tax_total=document.totals.tax_total * sign,
        gross_total=document.totals.gross_total * sign,
        amount_due=document.totals.amount_due * sign,
    )
