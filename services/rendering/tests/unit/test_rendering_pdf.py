import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import facturx
import pytest
from lxml import etree
from pypdf import PdfReader
from rendering_factory import (
    make_branding,
    make_consumption,
    make_credit_note,
    make_document,
    make_preview,
    make_proforma,
)

from ledgerline_rendering.adapters.pdf_document import PdfRenderer
from ledgerline_rendering.adapters.render_pool import RenderedDocument, render_document
from ledgerline_shared.contracts.document import Document

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
FX = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
XMP_NS = {
    "rdf": RDF,
    "fx": FX,
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "pdfaExtension": "http://www.aiim.org/pdfa/ns/extension/",
    "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
    "pdfaProperty": "http://www.aiim.org/pdfa/ns/property#",
}
TITLES = {
    "invoice": "Facture F2026-000042",
    "credit_note": "Avoir AV2026-000007",
    "proforma": "Facture proforma PF2026-000003",
}

CASES: dict[str, Callable[[], Document]] = {
    "invoice": make_document,
    "credit_note": make_credit_note,
    "proforma": make_proforma,
}


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    # Thousands separators and the space before € are no-break spaces: compare on plain spaces.
    text = "\n".join(page.extract_text() for page in reader.pages)
    return text.replace("\u202f", " ").replace("\u00a0", " ")


@pytest.fixture(scope="module")
def rendered(renderer: PdfRenderer) -> dict[str, RenderedDocument]:
    return {kind: render_document(renderer, factory(), make_branding()) for kind, factory in CASES.items()}


@pytest.mark.parametrize("kind", CASES)
def test_facturx_pdf_carries_its_cii_as_factur_x_xml(
    kind: str, rendered: dict[str, RenderedDocument]
) -> None:
    result = rendered[kind]
    name, xml = facturx.get_facturx_xml_from_pdf(result.pdf, check_xsd=True)
    assert name == "factur-x.xml"
    assert xml == result.cii
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931") is True


@pytest.mark.parametrize("kind", CASES)
def test_pdf_is_pdfa3b_with_a_single_af_entry(kind: str, rendered: dict[str, RenderedDocument]) -> None:
    reader = PdfReader(io.BytesIO(rendered[kind].pdf))
    catalog: Any = reader.trailer["/Root"]
    # WeasyPrint 70 would list an attachment twice in /AF (Kozea/WeasyPrint#2917): we must not.
    assert len(catalog["/AF"].get_object()) == 1
    assert list(reader.attachments) == ["factur-x.xml"]
    filespec = catalog["/AF"].get_object()[0].get_object()
    assert filespec["/AFRelationship"] == "/Data"
    embedded = filespec["/EF"]["/F"].get_object()
    assert embedded["/Subtype"] == "/text/xml"  # Factur-X 1.0: text/xml, not a guess from the name
    assert catalog["/PageMode"] == "/UseAttachments"
    # One rdf:RDF (an XMP reader may read the first only) holding PDF/A-3b and the Factur-X properties,
    # these declared by their extension schema.
    xmp = etree.fromstring(catalog["/Metadata"].get_object().get_data())
    (rdf,) = xmp.findall(f"{{{RDF}}}RDF")
    assert rdf.xpath("string(*/@pdfaid:part)", namespaces=XMP_NS) == "3"
    assert rdf.xpath("string(*/@pdfaid:conformance)", namespaces=XMP_NS) == "B"
    fx = {element.tag.split("}")[1]: element.text for element in rdf.xpath("*/fx:*", namespaces=XMP_NS)}
    assert fx == {
        "DocumentType": "INVOICE",
        "DocumentFileName": "factur-x.xml",
        "Version": "1.0",
        "ConformanceLevel": "EN 16931",
    }
    declared = rdf.xpath(
        "*/pdfaExtension:schemas/rdf:Bag/rdf:li[pdfaSchema:prefix = 'fx']", namespaces=XMP_NS
    )
    assert [schema.findtext(f"{{{XMP_NS['pdfaSchema']}}}namespaceURI") for schema in declared] == [FX]
    assert sorted(declared[0].xpath(".//pdfaProperty:name/text()", namespaces=XMP_NS)) == sorted(fx)
    assert reader.metadata is not None and reader.metadata.title == TITLES[kind]


def test_invoice_pdf_shows_number_client_and_totals(rendered: dict[str, RenderedDocument]) -> None:
    text = text_of(rendered["invoice"].pdf)
    for expected in (
        "Facture F2026-000042",
        "Boulangerie Dupont SARL",
        "Total HT",
        "64,62 €",
        "11,48 €",
        "76,10 €",
        "Net à payer",
        "FR76 3000 6000 0112 3456 7890 189",
        "Récapitulatif TVA",
        "Ledgerline Télécom SAS",
        "303265045",
        "03/03/2026",
    ):
        assert expected in text, expected


def test_credit_note_pdf_cites_the_original_invoice(rendered: dict[str, RenderedDocument]) -> None:
    text = text_of(rendered["credit_note"].pdf)
    assert "Avoir AV2026-000007" in text
    assert "Avoir sur la facture n° F2026-000042 du 01/02/2026" in text
    assert "Geste commercial suite à une panne" in text


def test_proforma_pdf_shows_negative_lines_and_notice(rendered: dict[str, RenderedDocument]) -> None:
    text = text_of(rendered["proforma"].pdf)
    assert "Facture proforma PF2026-000003" in text
    assert "-25,00 €" in text
    assert "ne pas payer avant réception de la facture" in text


def test_english_labels_follow_document_language(renderer: PdfRenderer) -> None:
    text = text_of(render_document(renderer, make_credit_note("en"), make_branding()).pdf)
    assert "Credit note AV2026-000007" in text
    assert "Credit note for invoice F2026-000042 of 1 Feb 2026" in text
    assert "Credit note amount" in text and "EUR 59.88" in text


def test_preview_shows_watermark_and_no_number(renderer: PdfRenderer) -> None:
    preview = make_preview()
    result = render_document(renderer, preview, make_branding())
    text = text_of(result.pdf)
    assert "PREVIEW" in text
    assert "Aperçu de facture" in text
    assert "F2026" not in text and "Numéro" not in text and str(preview.id) not in text
    assert result.ubl is None and result.cii is None
    assert list(PdfReader(io.BytesIO(result.pdf)).attachments) == []


def test_telecom_consumption_summary_is_printed(renderer: PdfRenderer) -> None:
    document = make_document(consumption=make_consumption(12), language="en")
    text = text_of(renderer.pdf(document, make_branding()))
    assert "Consumption summary" in text
    assert "France mobile #2" in text and "0:00:37" in text


def test_configured_png_logo_outside_assets_is_served(renderer: PdfRenderer, tmp_path: Path) -> None:
    # A 1x1 PNG: the configured logo file is the one path outside the assets the fetcher allows.
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360f8cf0000030101003b5d1b0a0000000049454e44ae426082"
    )
    logo = tmp_path / "operator-logo.png"
    logo.write_bytes(png)
    fetched: list[str] = []

    class Spy(renderer.fetcher_class):  # type: ignore[misc, name-defined]
        def fetch(self, url, headers=None):  # type: ignore[no-untyped-def]
            fetched.append(url)
            return super().fetch(url, headers)

    branding = make_branding(logo_path=logo)
    fetcher = Spy(renderer.assets_dir, extra_files=[logo])
    reader = PdfReader(io.BytesIO(renderer.pdf(make_document(), branding, fetcher=fetcher)))
    assert fetched == [logo.resolve().as_uri()]
    assert any(reader.pages[0].images)
