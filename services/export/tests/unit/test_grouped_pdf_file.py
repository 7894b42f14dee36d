from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
import weasyprint
from pypdf import PdfReader
from pypdf.generic import Destination

from ledgerline_export.adapters.grouped_pdf_file import write_grouped_pdf
from ledgerline_export.domain.grouped_pdf import number_order_key, plan_grouped_pdf
from ledgerline_export.domain.issued_document import IssuedDocument
from ledgerline_shared.contracts.document import Document, DocumentType


def _render(path: Path, number: str, pages: int) -> None:
    body = "".join(
        f'<section style="page-break-after: always"><h1>{number}</h1><p>page {i + 1}</p></section>'
        for i in range(pages)
    )
    path.write_bytes(weasyprint.HTML(string=f"<html><body>{body}</body></html>").write_pdf())


@pytest.fixture
def stored(tmp_path: Path, make_doc: Callable[..., Document]) -> list[IssuedDocument]:
    # Given out of order, with 1- and 2-page documents and one without a PDF yet.
    specs = [
        ("F2026-000010", DocumentType.INVOICE, 2),
        ("F2026-000002", DocumentType.INVOICE, 1),
        ("AV2026-000001", DocumentType.CREDIT_NOTE, 1),
        ("F2026-000001", DocumentType.INVOICE, 1),
        ("F2026-000011", DocumentType.INVOICE, 0),
    ]
    docs = []
    for number, kind, pages in specs:
        pdf = None
        if pages:
            pdf = tmp_path / f"{number}.pdf"
            _render(pdf, number, pages)
        original = "F2026-000001" if kind is DocumentType.CREDIT_NOTE else None
        doc = make_doc(number, kind=kind, issue_date=dt.date(2026, 1, 31), original=original)
        docs.append(IssuedDocument.from_document(doc, pdf_path=str(pdf) if pdf else None))
    return docs


def test_number_order_is_by_series_year_and_sequence() -> None:
    numbers = ["F2026-10", "F2026-000002", "AV2026-000001", "F2025-000099"]
    expected = ["AV2026-000001", "F2025-000099", "F2026-000002", "F2026-10"]
    assert sorted(numbers, key=number_order_key) == expected


def test_merged_pdf_has_every_page_in_number_order_with_a_bookmark_each(
    tmp_path: Path, stored: list[IssuedDocument]
) -> None:
    plan = plan_grouped_pdf(stored)
    assert plan.missing == ("F2026-000011",)
    out = tmp_path / "grouped.pdf"
    result = write_grouped_pdf(out, plan.parts)
    assert (result.documents, result.pages) == (4, 5)

    reader = PdfReader(out, strict=True)
    assert len(reader.pages) == 5
    first_lines = [page.extract_text().split("\n")[0] for page in reader.pages]
    assert first_lines == ["AV2026-000001", "F2026-000001", "F2026-000002", "F2026-000010", "F2026-000010"]
    outline = [item for item in reader.outline if isinstance(item, Destination)]
    assert len(outline) == len(reader.outline)
    titles = [str(item.title) for item in outline]
    assert [t.split(" – ")[0] for t in titles] == [
        "AV2026-000001",
        "F2026-000001",
        "F2026-000002",
        "F2026-000010",
    ]
    assert titles[0].startswith("AV2026-000001 – Credit note – ")
    assert [reader.get_destination_page_number(item) for item in outline] == [0, 1, 2, 3]
    assert not list(tmp_path.glob(".*.part"))


def test_missing_source_leaves_no_file(tmp_path: Path, stored: list[IssuedDocument]) -> None:
    plan = plan_grouped_pdf(stored)
    broken = [*plan.parts, plan.parts[0].__class__("F2026-000099", "x", str(tmp_path / "absent.pdf"))]
    out = tmp_path / "grouped.pdf"
    with pytest.raises(FileNotFoundError):
        write_grouped_pdf(out, broken)
    assert not out.exists() and not list(tmp_path.glob(".*.part"))


def test_empty_range_gives_a_valid_empty_outline(tmp_path: Path) -> None:
    out = tmp_path / "empty.pdf"
    result = write_grouped_pdf(out, [])
    assert result.pages == 0
    assert len(PdfReader(out).pages) == 0
