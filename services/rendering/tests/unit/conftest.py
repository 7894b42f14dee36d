import sys
from pathlib import Path

import pytest

# The repo runs pytest with --import-mode=importlib, where test modules cannot import a sibling:
# make the document factory (rendering_factory.py, uniquely named) importable.
sys.path.insert(0, str(Path(__file__).parent))

from ledgerline_rendering.adapters.pdf_document import PdfRenderer


@pytest.fixture(scope="session")
def renderer() -> PdfRenderer:
    return PdfRenderer()
