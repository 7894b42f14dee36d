"""At render time the CII (Factur-X) goes through the CEN EN 16931 schematron too: a non-compliant
Factur-X is refused (nothing rendered) even when the UBL built from the same document is compliant."""

from __future__ import annotations

import pytest
from lxml import etree
from rendering_factory import make_branding, make_document

from ledgerline_rendering.adapters import render_pool
from ledgerline_rendering.adapters.cii import RAM, build_cii
from ledgerline_rendering.adapters.pdf_document import PdfRenderer
from ledgerline_rendering.adapters.render_pool import InvalidEInvoice, render_document
from ledgerline_rendering.adapters.validation import validate_cii


def _wrong_grand_total(document, branding) -> bytes:  # type: ignore[no-untyped-def]
    """The CII as built, with a grand total that is not net + VAT (BR-CO-15): XSD-valid, rule-broken."""
    root = etree.fromstring(build_cii(document, branding))
    total = root.find(f".//{{{RAM}}}GrandTotalAmount")
    assert total is not None
    total.text = "99999.99"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_a_cii_breaking_an_en16931_rule_is_refused_at_render_time(monkeypatch: pytest.MonkeyPatch) -> None:
    document, branding = make_document(), make_branding()
    broken = _wrong_grand_total(document, branding)
    assert "BR-CO-15" in {f.id for f in validate_cii(broken)}
    monkeypatch.setattr(render_pool, "build_cii", _wrong_grand_total)  # a CII builder gone wrong
    with pytest.raises(InvalidEInvoice, match="BR-CO-15"):
        render_document(PdfRenderer(), document, branding)


def test_a_compliant_document_renders_with_both_schematrons() -> None:
    rendered = render_document(PdfRenderer(), make_document(), make_branding())
    assert rendered.cii is not None and validate_cii(rendered.cii) == []
    assert rendered.pdf.startswith(b"%PDF")
