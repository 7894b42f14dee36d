"""UBL 2.1 Invoice / CreditNote writer (EN 16931 core), element order as the OASIS XSD requires."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lxml import etree

from ledgerline_rendering.domain.branding import Branding
from ledgerline_rendering.domain.einvoice import (
    CUSTOMIZATION_ID,
    SEPA_CREDIT_TRANSFER,
    SIREN_SCHEME,
    EInvoice,
    EInvoiceLine,
    price_text,
    to_einvoice,
)
from ledgerline_shared.contracts.document import Document, Party
from ledgerline_shared.contracts.money import round_cents

CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"


def _amount(value: Decimal) -> str:
    return format(round_cents(value), "f")


def _decimal(value: Decimal) -> str:
    return format(value.normalize() if value != value.to_integral() else value.quantize(Decimal(1)), "f")


class _Writer:
    def __init__(self, currency: str) -> None:
        self.currency = currency

    def cbc(self, parent: etree._Element, name: str, text: str, **attrs: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{CBC}}}{name}", attrs)
        element.text = text
        return element

    def cac(self, parent: etree._Element, name: str) -> etree._Element:
        return etree.SubElement(parent, f"{{{CAC}}}{name}")

    def money(self, parent: etree._Element, name: str, value: Decimal) -> etree._Element:
        return self.cbc(parent, name, _amount(value), currencyID=self.currency)

    def period(self, parent: etree._Element, start: dt.date | None, end: dt.date | None) -> None:
        if start is None and end is None:
            return
        period = self.cac(parent, "InvoicePeriod")
        if start is not None:
            self.cbc(period, "StartDate", start.isoformat())
        if end is not None:
            self.cbc(period, "EndDate", end.isoformat())

    def party(self, parent: etree._Element, role: str, party: Party) -> None:
        node = self.cac(self.cac(parent, role), "Party")
        if party.code:
            self.cbc(self.cac(node, "PartyIdentification"), "ID", party.code)
        self.cbc(self.cac(node, "PartyName"), "Name", party.name)
        address = self.cac(node, "PostalAddress")
        self.cbc(address, "StreetName", party.address.line1)
        if party.address.line2:
            self.cbc(address, "AdditionalStreetName", party.address.line2)
        self.cbc(address, "CityName", party.address.city)
        self.cbc(address, "PostalZone", party.address.postcode)
        self.cbc(self.cac(address, "Country"), "IdentificationCode", party.address.country)
        if party.vat_id:
            scheme = self.cac(node, "PartyTaxScheme")
            self.cbc(scheme, "CompanyID", party.vat_id)
            self.cbc(self.cac(scheme, "TaxScheme"), "ID", "VAT")
        legal = self.cac(node, "PartyLegalEntity")
        self.cbc(legal, "RegistrationName", party.name)
        if party.siren:
            self.cbc(legal, "CompanyID", party.siren, schemeID=SIREN_SCHEME)
        if party.email:
            self.cbc(self.cac(node, "Contact"), "ElectronicMail", party.email)

    def tax_category(
        self,
        parent: etree._Element,
        name: str,
        category: str,
        rate: Decimal,
        exemption_reason: str | None = None,
    ) -> None:
        node = self.cac(parent, name)
        self.cbc(node, "ID", category)
        self.cbc(node, "Percent", _decimal(rate))
        if exemption_reason:
            self.cbc(node, "TaxExemptionReason", exemption_reason)
        self.cbc(self.cac(node, "TaxScheme"), "ID", "VAT")

    def line(self, root: etree._Element, line: EInvoiceLine, credit_note: bool) -> None:
        node = self.cac(root, "CreditNoteLine" if credit_note else "InvoiceLine")
        self.cbc(node, "ID", line.line_id)
        self.cbc(
            node,
            "CreditedQuantity" if credit_note else "InvoicedQuantity",
            _decimal(line.quantity),
            unitCode=line.unit_code,
        )
        self.money(node, "LineExtensionAmount", line.net_amount)
        self.period(node, line.period_start, line.period_end)
        item = self.cac(node, "Item")
        self.cbc(item, "Name", line.name)
        if line.article_code:
            self.cbc(self.cac(item, "SellersItemIdentification"), "ID", line.article_code)
        self.tax_category(item, "ClassifiedTaxCategory", line.category, line.rate)
        price = price_text(line.price)
        self.cbc(self.cac(node, "Price"), "PriceAmount", price, currencyID=self.currency)


def einvoice_to_ubl(invoice: EInvoice) -> bytes:
    credit = invoice.is_credit_note
    root_ns = CREDIT_NOTE_NS if credit else INVOICE_NS
    root = etree.Element(
        f"{{{root_ns}}}{'CreditNote' if credit else 'Invoice'}", nsmap={None: root_ns, "cac": CAC, "cbc": CBC}
    )
    w = _Writer(invoice.currency)
    w.cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    w.cbc(root, "ID", invoice.number)
    w.cbc(root, "IssueDate", invoice.issue_date.isoformat())
    if not credit and invoice.due_date:
        w.cbc(root, "DueDate", invoice.due_date.isoformat())
    w.cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", invoice.type_code)
    for note in invoice.notes:
        w.cbc(root, "Note", note)
    w.cbc(root, "DocumentCurrencyCode", invoice.currency)
    w.period(root, invoice.period_start, invoice.period_end)
    if invoice.original_number:
        reference = w.cac(w.cac(root, "BillingReference"), "InvoiceDocumentReference")
        w.cbc(reference, "ID", invoice.original_number)
        if invoice.original_date:
            w.cbc(reference, "IssueDate", invoice.original_date.isoformat())
    w.party(root, "AccountingSupplierParty", invoice.seller)
    w.party(root, "AccountingCustomerParty", invoice.buyer)
    w.cbc(w.cac(root, "Delivery"), "ActualDeliveryDate", invoice.delivery_date.isoformat())
    means = w.cac(root, "PaymentMeans")
    w.cbc(means, "PaymentMeansCode", SEPA_CREDIT_TRANSFER)
    if credit and invoice.due_date:
        # UBL 2.1 CreditNote has no root DueDate: BT-9 lives here (EN 16931 UBL binding).
        w.cbc(means, "PaymentDueDate", invoice.due_date.isoformat())
    w.cbc(means, "PaymentID", invoice.number)
    account = w.cac(means, "PayeeFinancialAccount")
    w.cbc(account, "ID", invoice.iban)
    w.cbc(w.cac(account, "FinancialInstitutionBranch"), "ID", invoice.bic)
    w.cbc(w.cac(root, "PaymentTerms"), "Note", invoice.payment_terms)
    tax_total = w.cac(root, "TaxTotal")
    w.money(tax_total, "TaxAmount", invoice.tax_total)
    for tax in invoice.taxes:
        subtotal = w.cac(tax_total, "TaxSubtotal")
        w.money(subtotal, "TaxableAmount", tax.taxable_amount)
        w.money(subtotal, "TaxAmount", tax.tax_amount)
        w.tax_category(subtotal, "TaxCategory", tax.category, tax.rate, tax.exemption_reason)
    totals = w.cac(root, "LegalMonetaryTotal")
    w.money(totals, "LineExtensionAmount", invoice.net_total)
    w.money(totals, "TaxExclusiveAmount", invoice.net_total)
    w.money(totals, "TaxInclusiveAmount", invoice.gross_total)
    w.money(totals, "PayableAmount", invoice.amount_due)
    for line in invoice.lines:
        w.line(root, line, credit)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def build_ubl(document: Document, branding: Branding) -> bytes:
    """UBL 2.1 Invoice (380 invoice, 325 proforma) or CreditNote (381) for an issued document."""
    return einvoice_to_ubl(to_einvoice(document, branding))
