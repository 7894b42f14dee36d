import hashlib
from pathlib import Path

import pytest
from rendering_factory import make_document, make_preview

from ledgerline_rendering.adapters.document_files import (
    DocumentFileWriter,
    UnsafeDocumentName,
    VersionExists,
)
from ledgerline_rendering.adapters.render_pool import RenderedDocument, document_json
from ledgerline_shared.document_store import FolderDocumentStore


def rendered(document, pdf: bytes = b"%PDF-1.7 v1") -> RenderedDocument:  # type: ignore[no-untyped-def]
    ubl = None if document.number is None else b"<Invoice/>"
    cii = None if document.number is None else b"<rsm:CrossIndustryInvoice/>"
    return RenderedDocument(document, pdf, document_json(document), ubl, cii)


def test_versions_are_kept_and_production_holds_the_latest(tmp_path: Path) -> None:
    store = FolderDocumentStore(tmp_path)
    writer = DocumentFileWriter(store)
    document = make_document()
    first = writer.write_version(rendered(document, b"%PDF v1"), 1)
    second = writer.write_version(rendered(document, b"%PDF v2"), 2)
    assert not (tmp_path / "production").exists()  # copied only once the version is committed
    production = writer.publish_production(rendered(document, b"%PDF v2"))

    assert first.files["pdf"].path == "versions/F2026-000042/v1/F2026-000042.pdf"
    assert second.files["ubl"].path == "versions/F2026-000042/v2/F2026-000042.xml"
    assert second.files["facturx"].path == "versions/F2026-000042/v2/F2026-000042.cii.xml"
    assert second.files["json"].path == "versions/F2026-000042/v2/F2026-000042.json"
    assert store.read(first.files["pdf"].path) == b"%PDF v1"  # never rewritten
    assert production["pdf"].path == "production/2026-02/invoices-pdf/F2026-000042.pdf"
    assert production["ubl"].path == "production/2026-02/invoices-xml/F2026-000042.xml"
    assert production["json"].path == "production/2026-02/invoices-json/F2026-000042.json"
    assert store.read(production["pdf"].path) == b"%PDF v2"
    for stored in [*second.files.values(), *production.values()]:
        data = (tmp_path / stored.path).read_bytes()
        assert stored.sha256 == hashlib.sha256(data).hexdigest() and stored.size == len(data)


def test_a_version_is_never_overwritten(tmp_path: Path) -> None:
    writer = DocumentFileWriter(FolderDocumentStore(tmp_path))
    writer.write_version(rendered(make_document()), 1)
    with pytest.raises(VersionExists):
        writer.write_version(rendered(make_document(), b"%PDF other"), 1)
    assert (tmp_path / "versions/F2026-000042/v1/F2026-000042.pdf").read_bytes() == b"%PDF-1.7 v1"


@pytest.mark.parametrize("number", ["../../etc/passwd", "F2026/000001", ".hidden", "F 1"])
def test_a_number_that_is_not_a_file_name_is_refused(tmp_path: Path, number: str) -> None:
    writer = DocumentFileWriter(FolderDocumentStore(tmp_path))
    with pytest.raises(UnsafeDocumentName):
        writer.write_version(rendered(make_document(number=number)), 1)
    assert list(tmp_path.iterdir()) == []


def test_preview_goes_under_previews_by_document_id(tmp_path: Path) -> None:
    writer = DocumentFileWriter(FolderDocumentStore(tmp_path))
    preview = make_preview()
    stored = writer.write_preview(rendered(preview))
    assert stored.version is None
    assert stored.files["pdf"].path == f"previews/2026-01/{preview.id}.pdf"
    assert stored.files["json"].path == f"previews/2026-01/{preview.id}.json"
    with pytest.raises(UnsafeDocumentName):
        writer.write_version(rendered(preview), 1)
