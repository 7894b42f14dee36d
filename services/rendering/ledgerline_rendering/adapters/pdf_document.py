"""HTML -> PDF/A-3b with WeasyPrint, then the Factur-X CII embedded as factur-x.xml.

Why factur-x's generate_from_binary rather than WeasyPrint attachments: WeasyPrint 70 lists each
attachment twice in the catalog /AF array for PDF/A-3 (Kozea/WeasyPrint#2917) and writes no Factur-X
XMP extension schema. WeasyPrint therefore renders with no attachment at all; factur-x then sets a
single-entry /AF, the /EmbeddedFiles name tree (factur-x.xml, /AFRelationship /Data) and the Factur-X
XMP (pdfaid part 3, conformance B, fx:ConformanceLevel EN 16931).
"""

from __future__ import annotations

from pathlib import Path

import facturx
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from ledgerline_rendering.adapters.asset_fetcher import ASSETS_DIR, AssetUrlFetcher
from ledgerline_rendering.adapters.html_document import build_environment, logo_file, render_html
from ledgerline_rendering.domain.branding import Branding
from ledgerline_rendering.domain.labels import document_title
from ledgerline_shared.contracts.document import Document

PDF_VARIANT = "pdf/a-3b"
FACTURX_FILENAME = "factur-x.xml"


class PdfRenderer:
    """One per process: font configuration, parsed stylesheet and compiled templates are reused."""

    def __init__(
        self, assets_dir: Path = ASSETS_DIR, fetcher_class: type[AssetUrlFetcher] = AssetUrlFetcher
    ) -> None:
        self.assets_dir = assets_dir.resolve()
        self.fetcher_class = fetcher_class
        self.font_config = FontConfiguration()
        self.env = build_environment()
        self.base_url = self.assets_dir.as_uri() + "/"
        self.stylesheet = CSS(
            filename=str(self.assets_dir / "document.css"),
            font_config=self.font_config,
            url_fetcher=fetcher_class(self.assets_dir),
        )

    def fetcher(self, branding: Branding) -> AssetUrlFetcher:
        return self.fetcher_class(self.assets_dir, extra_files=[logo_file(branding)])

    def html(self, document: Document, branding: Branding) -> str:
        return render_html(self.env, document, branding)

    def pdf(
        self,
        document: Document,
        branding: Branding,
        cii: bytes | None = None,
        fetcher: AssetUrlFetcher | None = None,
    ) -> bytes:
        """PDF/A-3b; with `cii`, a Factur-X PDF carrying it as factur-x.xml."""
        html = HTML(
            string=self.html(document, branding),
            base_url=self.base_url,
            url_fetcher=fetcher or self.fetcher(branding),
        )
        pdf = html.write_pdf(
            stylesheets=[self.stylesheet], font_config=self.font_config, pdf_variant=PDF_VARIANT
        )
        if pdf is None:  # write_pdf returns bytes when given no target
            raise RuntimeError("WeasyPrint produced no PDF")
        if cii is None:
            return bytes(pdf)
        return embed_facturx(bytes(pdf), cii, document, branding)


def embed_facturx(pdf: bytes, cii: bytes, document: Document, branding: Branding) -> bytes:
    title = f"{document_title(document.type, document.language)} {document.key}"
    metadata = {
        "author": branding.seller_name,
        "keywords": "Factur-X, EN 16931",
        "title": title,
        "subject": f"{title} - {document.buyer.name}",
    }
    result: bytes = facturx.generate_from_binary(
        pdf,
        cii,
        flavor="factur-x",
        level="en16931",
        check_xsd=True,
        pdf_metadata=metadata,
        lang="fr-FR" if document.language == "fr" else "en-GB",
    )
    return result
