"""The Factur-X part of a PDF/A-3b: factur-x.xml attached to the rendered document, its XMP identification.

WeasyPrint writes it in the same pass as the PDF: its Attachment with a relationship, and the Factur-X
properties added to its XMP RDF by overriding DocumentMetadata.generate_rdf_metadata (the extension
point WeasyPrint made for this). The PDF is written once, where re-opening it with pypdf to embed the
XML afterwards (factur-x's generate_from_binary) cost 21 ms of a one-page invoice's ~300 ms, measured.
The properties go inside WeasyPrint's rdf:RDF, not in a second one (its `xmp_metadata` list): an XMP
reader such as Adobe's XMP Core reads the first rdf:RDF of a packet only. What WeasyPrint 70 does not
do by itself is mended in its finisher hook, right before the PDF is serialized:
- it lists each attachment twice in the catalog's /AF (Kozea/WeasyPrint#2917): one entry is kept;
- it guesses application/xml from the file name: Factur-X 1.0 asks for text/xml.
"""

from __future__ import annotations

from typing import Any

import pydyf
from weasyprint import Attachment
from weasyprint.document import Document as RenderedPages
from weasyprint.pdf.metadata import DocumentMetadata

from ledgerline_rendering.domain.branding import Branding
from ledgerline_rendering.domain.labels import document_title
from ledgerline_shared.contracts.document import Document

FACTURX_FILENAME = "factur-x.xml"
FACTURX_NAMESPACE = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
CONFORMANCE_LEVEL = "EN 16931"

_FX_PROPERTIES = (
    ("DocumentFileName", "The name of the embedded XML document"),
    ("DocumentType", "The type of the hybrid document in capital letters, e.g. INVOICE or ORDER"),
    ("Version", "The actual version of the standard applying to the embedded XML document"),
    ("ConformanceLevel", "The conformance level of the embedded XML document"),
)


def _property(name: str, description: str) -> str:
    return (
        '<rdf:li rdf:parseType="Resource">'
        f"<pdfaProperty:name>{name}</pdfaProperty:name>"
        "<pdfaProperty:valueType>Text</pdfaProperty:valueType>"
        "<pdfaProperty:category>external</pdfaProperty:category>"
        f"<pdfaProperty:description>{description}</pdfaProperty:description>"
        "</rdf:li>"
    )


# PDF/A accepts only declared XMP properties: the fx: values come with their extension schema. Two
# rdf:Description elements, added to the packet's rdf:RDF (whose root declares the rdf: prefix).
FACTURX_XMP = (
    '<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"'
    ' xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#"'
    ' xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">'
    '<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">'
    "<pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>"
    f"<pdfaSchema:namespaceURI>{FACTURX_NAMESPACE}</pdfaSchema:namespaceURI>"
    "<pdfaSchema:prefix>fx</pdfaSchema:prefix>"
    "<pdfaSchema:property><rdf:Seq>"
    + "".join(_property(name, description) for name, description in _FX_PROPERTIES)
    + "</rdf:Seq></pdfaSchema:property>"
    "</rdf:li></rdf:Bag></pdfaExtension:schemas></rdf:Description>"
    f'<rdf:Description rdf:about="" xmlns:fx="{FACTURX_NAMESPACE}">'
    "<fx:DocumentType>INVOICE</fx:DocumentType>"
    f"<fx:DocumentFileName>{FACTURX_FILENAME}</fx:DocumentFileName>"
    "<fx:Version>1.0</fx:Version>"
    f"<fx:ConformanceLevel>{CONFORMANCE_LEVEL}</fx:ConformanceLevel>"
    "</rdf:Description>"
).encode("utf-8")
_RDF_END = b"</rdf:RDF>"


class FacturXMetadata(DocumentMetadata):  # type: ignore[misc]
    """WeasyPrint's metadata, with the Factur-X identification in its XMP RDF."""

    def generate_rdf_metadata(self, variant: str, version: int, conformance: str) -> bytes:
        rdf: bytes = super().generate_rdf_metadata(variant, version, conformance)
        if not rdf.rstrip().endswith(_RDF_END):
            raise RuntimeError("WeasyPrint's XMP RDF does not end with </rdf:RDF>: recheck the Factur-X XMP")
        end = rdf.rindex(_RDF_END)
        return rdf[:end] + FACTURX_XMP + rdf[end:]


def attach_facturx(pages: RenderedPages, cii: bytes, document: Document, branding: Branding) -> None:
    """The CII as factur-x.xml (/AFRelationship /Data: the PDF is the invoice, the XML its data), the
    document's title, author and subject, and the Factur-X XMP, on a rendered document not yet written."""
    title = f"{document_title(document.type, document.language)} {document.key}"
    html_metadata = pages.metadata
    pages.metadata = FacturXMetadata(
        title=title,
        authors=[branding.seller_name],
        description=f"{title} - {document.buyer.name}",
        keywords=["Factur-X", CONFORMANCE_LEVEL],
        generator=html_metadata.generator,
        created=html_metadata.created,
        modified=html_metadata.modified,
        attachments=[
            Attachment(
                string=cii.decode("utf-8"),
                name=FACTURX_FILENAME,
                description="Factur-X XML file",
                relationship="Data",
            )
        ],
        lang="fr-FR" if document.language == "fr" else "en-GB",
    )


def finish_facturx(_pages: RenderedPages, pdf: Any) -> None:
    """WeasyPrint's finisher: one /AF entry per attachment, text/xml for the XML, the attachments
    panel open when a reader shows the invoice."""
    catalog = pdf.catalog
    catalog["AF"] = pydyf.Array(dict.fromkeys(catalog["AF"]))
    catalog["PageMode"] = "/UseAttachments"
    for pdf_object in pdf.objects:
        if isinstance(pdf_object, pydyf.Stream) and pdf_object.extra.get("Type") == "/EmbeddedFile":
            pdf_object.extra["Subtype"] = "/text#2Fxml"
