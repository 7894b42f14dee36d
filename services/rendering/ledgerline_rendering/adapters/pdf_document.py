"""HTML -> PDF/A-3b with WeasyPrint; an invoice's Factur-X CII attached as factur-x.xml in the same pass
(adapters/facturx_attachment.py)."""

from __future__ import annotations

from pathlib import Path

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from ledgerline_rendering.adapters.asset_fetcher import ASSETS_DIR, AssetUrlFetcher
from ledgerline_rendering.adapters.facturx_attachment import attach_facturx, finish_facturx
from ledgerline_rendering.adapters.html_document import build_environment, logo_file, render_html
from ledgerline_rendering.domain.branding import Branding
from ledgerline_shared.contracts.document import Document

PDF_VARIANT = "pdf/a-3b"


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
        pages = html.render(
            stylesheets=[self.stylesheet], font_config=self.font_config, pdf_variant=PDF_VARIANT
        )
        finisher = None
        if cii is not None:
            attach_facturx(pages, cii, document, branding)
            finisher = finish_facturx
        pdf = pages.write_pdf(pdf_variant=PDF_VARIANT, finisher=finisher)
        if pdf is None:  # write_pdf returns bytes when given no target
            raise RuntimeError("WeasyPrint produced no PDF")
        return bytes(pdf)
