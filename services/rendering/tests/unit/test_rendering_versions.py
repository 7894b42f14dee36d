"""The version rules without a database: numbering, first renderings, owner, and the event."""

from __future__ import annotations

import json

from rendering_factory import make_document

from ledgerline_rendering.domain.versions import (
    VersionFiles,
    next_version,
    owner_of,
    records_first_version,
    rendered_event,
    version_reason,
)
from ledgerline_shared.contracts.events import FileRef


def test_versions_are_numbered_from_one_without_gaps() -> None:
    assert [next_version(n) for n in range(3)] == [1, 2, 3]


def test_a_first_rendering_is_recorded_only_for_a_document_without_versions() -> None:
    assert records_first_version(0) and not records_first_version(1)


def test_the_owner_is_the_recorded_client_else_the_latest_buyer() -> None:
    latest = json.dumps({"buyer": {"client_id": "c-2"}})
    assert owner_of("c-1", latest) == "c-1" and owner_of(None, latest) == "c-2"
    assert owner_of(None, json.dumps({"buyer": {}})) is None


def test_the_event_names_every_file_and_counts_the_versions() -> None:
    document = make_document(number="F2026-000042")
    ref = FileRef(path="versions/F2026-000042/v2/F2026-000042.pdf", sha256="0" * 64, size=10)
    files = VersionFiles({"pdf": ref, "json": ref, "ubl": ref})
    event = rendered_event(document, 2, files, "address changed")
    assert event.version == event.generation_count == 2 and event.number == "F2026-000042"
    assert event.files.ubl == ref and event.files.facturx is None and event.reason == "address changed"
    assert files.as_record()["pdf"] == {"path": ref.path, "sha256": ref.sha256, "size": 10}
    assert len(version_reason("x" * 600)) == 500
