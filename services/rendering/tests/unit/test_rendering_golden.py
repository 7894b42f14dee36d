"""Page 1 of each kind of document against a golden image: layout breaks fail, anti-aliasing does not.

Each PDF's first page is rasterised at a low resolution in grey (poppler's pdftoppm, installed by
deploy/bootstrap.sh with the DejaVu fonts the documents use) and compared with the PNG under
`golden/`: the share of pixels that differ noticeably must stay under a tolerance. A column pushed
out, a block moved to page 2, a missing font or logo moves thousands of pixels; text content is
checked by the text tests (test_rendering_client_reading.py), not here.

After an intended layout change, refresh the images and LOOK at them before committing:

    LEDGERLINE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -p no:cacheprovider \\
        services/rendering/tests/unit/test_rendering_golden.py
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from rendering_factory import (
    line,
    make_branding,
    make_credit_note,
    make_document,
    make_proforma,
    make_telecom_invoice,
)

from ledgerline_rendering.adapters.pdf_document import PdfRenderer
from ledgerline_rendering.adapters.render_pool import render_document
from ledgerline_shared.contracts.document import Document

GOLDEN = Path(__file__).parent / "golden"
DPI = 40  # A4 is 331 x 468 pixels: small files, still shows every block and table column
NOTICEABLE = 64  # a grey level difference (of 255) that is not anti-aliasing noise
TOLERANCE = 0.004  # share of page pixels allowed to differ noticeably (about 600 pixels)

CASES: dict[str, Callable[[], Document]] = {
    "invoice-fr": lambda: make_telecom_invoice("fr"),
    "invoice-en": lambda: make_telecom_invoice("en"),
    "credit_note-fr": lambda: make_credit_note("fr"),
    "credit_note-en": lambda: make_credit_note("en"),
    "proforma-fr": lambda: make_proforma("fr"),
    "proforma-en": lambda: make_proforma("en"),
}


def page_one(renderer: PdfRenderer, document: Document) -> Image.Image:
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.fail("pdftoppm is missing: deploy/bootstrap.sh installs poppler-utils")
    branding = make_branding(email="facturation@ledgerline.example", bank_name="Banque Exemple")
    pdf = render_document(renderer, document, branding).pdf
    png = subprocess.run(
        [pdftoppm, "-r", str(DPI), "-f", "1", "-l", "1", "-gray", "-png", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout
    return Image.open(io.BytesIO(png)).convert("L")


def differing_share(image: Image.Image, golden: Image.Image) -> float:
    if image.size != golden.size:
        return 1.0
    difference = ImageChops.difference(image, golden).point(lambda level: 255 if level > NOTICEABLE else 0)
    histogram = difference.histogram()
    return histogram[255] / (image.size[0] * image.size[1])


@pytest.mark.parametrize("case", CASES)
def test_page_one_matches_its_golden_image(renderer: PdfRenderer, case: str) -> None:
    image = page_one(renderer, CASES[case]())
    path = GOLDEN / f"{case}.png"
    if os.environ.get("LEDGERLINE_UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        image.save(path, optimize=True)
    share = differing_share(image, Image.open(path).convert("L"))
    assert share <= TOLERANCE, f"{case}: {share:.2%} of page 1 differs from {path.name}"


def test_a_layout_change_is_caught(renderer: PdfRenderer) -> None:
    # Two more lines push every block below the line table down: far past the tolerance.
    invoice = make_telecom_invoice("fr")
    extra = [line(6, "Option sécurité", "1", "5.00"), line(7, "Numéro supplémentaire", "2", "3.00")]
    longer = make_document([*invoice.lines, *extra], consumption=invoice.consumption, period="2026-04")
    share = differing_share(page_one(renderer, longer), Image.open(GOLDEN / "invoice-fr.png").convert("L"))
    assert share > 5 * TOLERANCE
