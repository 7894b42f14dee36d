"""Factur-X EN 16931 profile: UN/CEFACT CII D16B (rsm:CrossIndustryInvoice), element order per its XSD."""

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
    price_text,
    to_einvoice,
)
from ledgerline_shared.contracts.document import Document, Party
from ledgerline_shared.contracts.money import round_cents

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"


def _amount(value: Decimal) -> str:
    return format(round_cents(value), "f")


def _decimal(value: Decimal) -> str:
    return format(value.normalize() if value != value.to_integral() else value.quantize(Decimal(1)), "f")


def _ram(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{RAM}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def _date(parent: etree._Element, name: str, value: dt.date, ns: str = UDT) -> None:
    holder = _ram(parent, name)
    etree.SubElement(holder, f"{{{ns}}}DateTimeString", format="102").text = value.strftime("%Y%m%d")


def _period(parent: etree._Element, start: dt.date | None, end: dt.date | None) -> None:
    if start is None and end is None:
        return
    period = _ram(parent, "BillingSpecifiedPeriod")
    if start is not None:
        _date(period, "StartDateTime", start)
    if end is not None:
        _date(period, "EndDateTime", end)


def _party(parent: etree._Element, role: str, party: Party) -> None:
    node = _ram(parent, role)
    if party.code:
        _ram(node, "ID", party.code)
    _ram(node, "Name", party.name)
    if party.siren:
        _ram(_ram(node, "SpecifiedLegalOrganization"), "ID", party.siren, schemeID=SIREN_SCHEME)
    address = _ram(node, "PostalTradeAddress")
    _ram(address, "PostcodeCode", party.address.postcode)
    _ram(address, "LineOne", party.address.line1)
    if party.address.line2:
        _ram(address, "LineTwo", party.address.line2)
    _ram(address, "CityName", party.address.city)
    _ram(address, "CountryID", party.address.country)
    if party.email:
        _ram(_ram(node, "URIUniversalCommunication"), "URIID", party.email, schemeID="EM")
    if party.vat_id:
        _ram(_ram(node, "SpecifiedTaxRegistration"), "ID", party.vat_id, schemeID="VA")


def einvoice_to_cii(invoice: EInvoice) -> bytes:
    root = etree.Element(
        f"{{{RSM}}}CrossIndustryInvoice", nsmap={"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}
    )
    context = etree.SubElement(root, f"{{{RSM}}}ExchangedDocumentContext")
    _ram(_ram(context, "GuidelineSpecifiedDocumentContextParameter"), "ID", CUSTOMIZATION_ID)
    header = etree.SubElement(root, f"{{{RSM}}}ExchangedDocument")
    _ram(header, "ID", invoice.number)
    _ram(header, "TypeCode", invoice.type_code)
    _date(header, "IssueDateTime", invoice.issue_date)
    for note in invoice.notes:
        _ram(_ram(header, "IncludedNote"), "Content", note)

    transaction = etree.SubElement(root, f"{{{RSM}}}SupplyChainTradeTransaction")
    for line in invoice.lines:
        item = _ram(transaction, "IncludedSupplyChainTradeLineItem")
        _ram(_ram(item, "AssociatedDocumentLineDocument"), "LineID", line.line_id)
        product = _ram(item, "SpecifiedTradeProduct")
        if line.article_code:
            _ram(product, "SellerAssignedID", line.article_code)
        _ram(product, "Name", line.name)
        agreement = _ram(item, "SpecifiedLineTradeAgreement")
        _ram(_ram(agreement, "NetPriceProductTradePrice"), "ChargeAmount", price_text(line.price))
        _ram(
            _ram(item, "SpecifiedLineTradeDelivery"),
            "BilledQuantity",
            _decimal(line.quantity),
            unitCode=line.unit_code,
        )
        settlement = _ram(item, "SpecifiedLineTradeSettlement")
        tax = _ram(settlement, "ApplicableTradeTax")
        _ram(tax, "TypeCode", "VAT")
        _ram(tax, "CategoryCode", line.category)
        _ram(tax, "RateApplicablePercent", _decimal(line.rate))
        _period(settlement, line.period_start, line.period_end)
        _ram(
            _ram(settlement, "SpecifiedTradeSettlementLineMonetarySummation"),
            "LineTotalAmount",
            _amount(line.net_amount),
        )

    agreement = _ram(transaction, "ApplicableHeaderTradeAgreement")
    _party(agreement, "SellerTradeParty", invoice.seller)
    _party(agreement, "BuyerTradeParty", invoice.buyer)
    delivery = _ram(transaction, "ApplicableHeaderTradeDelivery")
    _date(_ram(delivery, "ActualDeliverySupplyChainEvent"), "OccurrenceDateTime", invoice.delivery_date)
    settlement = _ram(transaction, "ApplicableHeaderTradeSettlement")
    _ram(settlement, "PaymentReference", invoice.number)
    _ram(settlement, "InvoiceCurrencyCode", invoice.currency)
    means = _ram(settlement, "SpecifiedTradeSettlementPaymentMeans")
    _ram(means, "TypeCode", SEPA_CREDIT_TRANSFER)
    _ram(_ram(means, "PayeePartyCreditorFinancialAccount"), "IBANID", invoice.iban)
    _ram(_ram(means, "PayeeSpecifiedCreditorFinancialInstitution"), "BICID", invoice.bic)
    for subtotal in invoice.taxes:
        tax = _ram(settlement, "ApplicableTradeTax")
        _ram(tax, "CalculatedAmount", _amount(subtotal.tax_amount))
        _ram(tax, "TypeCode", "VAT")
        if subtotal.exemption_reason:
            _ram(tax, "ExemptionReason", subtotal.exemption_reason)
        _ram(tax, "BasisAmount", _amount(subtotal.taxable_amount))
        _ram(tax, "CategoryCode", subtotal.category)
        _ram(tax, "RateApplicablePercent", _decimal(subtotal.rate))
    _period(settlement, invoice.period_start, invoice.period_end)
    terms = _ram(settlement, "SpecifiedTradePaymentTerms")
    _ram(terms, "Description", invoice.payment_terms)
    if invoice.due_date:
        _date(terms, "DueDateDateTime", invoice.due_date)
    summation = _ram(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation")
    _ram(summation, "LineTotalAmount", _amount(invoice.net_total))
    _ram(summation, "TaxBasisTotalAmount", _amount(invoice.net_total))
    _ram(summation, "TaxTotalAmount", _amount(invoice.tax_total), currencyID=invoice.currency)
    _ram(summation, "GrandTotalAmount", _amount(invoice.gross_total))
    _ram(summation, "DuePayableAmount", _amount(invoice.amount_due))
    if invoice.original_number:
        reference = _ram(settlement, "InvoiceReferencedDocument")
        _ram(reference, "IssuerAssignedID", invoice.original_number)
        if invoice.original_date:
            _date(reference, "FormattedIssueDateTime", invoice.original_date, ns=QDT)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def build_cii(document: Document, branding: Branding) -> bytes:
    """The Factur-X EN 16931 XML embedded in the PDF as factur-x.xml."""
    return einvoice_to_cii(to_einvoice(document, branding))
