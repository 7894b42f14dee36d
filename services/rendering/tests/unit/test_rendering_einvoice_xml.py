from collections.abc import Callable
from decimal import Decimal

import pytest
from lxml import etree
from rendering_factory import (
    line,
    make_branding,
    make_credit_note,
    make_document,
    make_preview,
    make_proforma,
)

from ledgerline_rendering.adapters.cii import build_cii
from ledgerline_rendering.adapters.ubl import build_ubl
from ledgerline_rendering.adapters.validation import validate_cii, validate_ubl
from ledgerline_rendering.domain.einvoice import NotAnEInvoice
from ledgerline_shared.contracts.document import Document

NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}
CASES: dict[str, Callable[[], Document]] = {
    "invoice": make_document,
    "credit_note": make_credit_note,
    "proforma": make_proforma,
}


@pytest.mark.parametrize("kind", CASES)
def test_ubl_passes_xsd_and_en16931_schematron(kind: str) -> None:
    assert validate_ubl(build_ubl(CASES[kind](), make_branding())) == []


@pytest.mark.parametrize("kind", CASES)
def test_cii_passes_facturx_xsd_and_en16931_schematron(kind: str) -> None:
    assert validate_cii(build_cii(CASES[kind](), make_branding())) == []


def test_invoice_has_two_vat_rates_and_type_380() -> None:
    root = etree.fromstring(build_ubl(make_document(), make_branding()))
    assert root.findtext("cbc:InvoiceTypeCode", namespaces=NS) == "380"
    assert root.findtext("cbc:CustomizationID", namespaces=NS) == "urn:cen.eu:en16931:2017"
    rates = root.xpath("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:Percent/text()", namespaces=NS)
    assert rates == ["20", "5.5"]
    assert root.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS) == "76.10"
    assert (
        root.findtext(
            "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID", namespaces=NS
        )
        == "552100554"
    )


def test_credit_note_is_381_and_cites_the_original_invoice() -> None:
    root = etree.fromstring(build_ubl(make_credit_note(), make_branding()))
    assert etree.QName(root).localname == "CreditNote"
    assert root.findtext("cbc:CreditNoteTypeCode", namespaces=NS) == "381"
    reference = root.find("cac:BillingReference/cac:InvoiceDocumentReference", namespaces=NS)
    assert reference.findtext("cbc:ID", namespaces=NS) == "F2026-000042"
    assert reference.findtext("cbc:IssueDate", namespaces=NS) == "2026-02-01"


def test_credit_note_sent_with_negative_amounts_is_written_positive() -> None:
    positive = make_credit_note()
    negative = make_document(
        [line(1, "Remboursement", "1", "-49.90", unit="MON")],
        type=positive.type,
        number=positive.number,
        references=positive.references,
    )
    ubl = build_ubl(negative, make_branding())
    assert validate_ubl(ubl) == []
    root = etree.fromstring(ubl)
    assert root.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS) == "59.88"


def test_proforma_is_325_and_negative_lines_keep_a_positive_price() -> None:
    root = etree.fromstring(build_ubl(make_proforma(), make_branding()))
    assert root.findtext("cbc:InvoiceTypeCode", namespaces=NS) == "325"
    discount = root.xpath("cac:InvoiceLine[cbc:ID='3']", namespaces=NS)[0]
    assert discount.findtext("cbc:InvoicedQuantity", namespaces=NS) == "-2"
    assert discount.findtext("cac:Price/cbc:PriceAmount", namespaces=NS) == "12.50"
    assert discount.findtext("cbc:LineExtensionAmount", namespaces=NS) == "-25.00"


def test_schematron_reports_a_wrong_total_with_its_rule_id() -> None:
    root = etree.fromstring(build_ubl(make_document(), make_branding()))
    root.find("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", namespaces=NS).text = "99.99"
    failures = validate_ubl(etree.tostring(root))
    assert "BR-CO-15" in {failure.id for failure in failures}


def test_xsd_reports_a_misplaced_element() -> None:
    root = etree.fromstring(build_ubl(make_document(), make_branding()))
    root.append(etree.Element(f"{{{NS['cbc']}}}IssueDate"))
    failures = validate_ubl(etree.tostring(root))
    assert failures and failures[0].id == "XSD"


def test_preview_has_no_einvoice() -> None:
    with pytest.raises(NotAnEInvoice):
        build_ubl(make_preview(), make_branding())
    with pytest.raises(NotAnEInvoice):
        build_cii(make_preview(), make_branding())


def test_amounts_stay_decimal_to_the_cent() -> None:
    document = make_document([line(1, "Minutes", "3", "0.3333")])
    assert document.totals.net_total == Decimal("1.00")
    assert validate_ubl(build_ubl(document, make_branding())) == []
