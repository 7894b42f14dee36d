"""The SFTP tree's copies a killed process left unwritten are finished by any instance.

A version's copy in `production/` is written after its transaction commits; a kill -9 in between used
to leave the tree without it for good (the redelivered event finds the version recorded and does
nothing). service/production_copies.py finds such versions and writes the latest one's files again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from rendering_factory import make_document
from sqlalchemy import select

from ledgerline_rendering.adapters.document_files import DocumentFileWriter
from ledgerline_rendering.adapters.orm import DocumentVersionRow
from ledgerline_rendering.config import RenderingSettings
from ledgerline_rendering.entrypoints.app import create_app
from ledgerline_rendering.service.production_copies import publish_missed_copies
from ledgerline_rendering.service.unit_of_work import RenderingUnitOfWork
from ledgerline_shared.contracts.events import RenderRequested
from ledgerline_shared.document_store import FolderDocumentStore
from ledgerline_shared.testing import deliver, record_for
from ledgerline_shared.topics import INVOICE_ISSUED, INVOICE_RENDER_REQUESTED

SECRET = "render-test-secret-0123456789abcdef012345"
SETTLE = dt.timedelta(seconds=10)
LATER = dt.timedelta(minutes=1)  # "now" for the checker: every version here is old enough


@pytest.fixture
async def rendering(tmp_path: Path) -> AsyncIterator[tuple[Any, RenderingSettings, DocumentFileWriter]]:
    settings = RenderingSettings(
        data_dir=tmp_path,
        jwt_secret=SECRET,
        kafka_bootstrap_servers="127.0.0.1:1",
        render_workers=1,
        production_check_s=3600,  # the app's own checker stays out of the way: the test calls it
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app, settings, DocumentFileWriter(FolderDocumentStore(settings.document_root()))


def check(app: Any, writer: DocumentFileWriter, now: dt.datetime) -> Any:
    runtime = app.state.runtime
    uow = RenderingUnitOfWork(runtime.sessions, runtime.event_sink)
    return publish_missed_copies(uow, writer, now=now, settle=SETTLE)


def tree_pdf(settings: RenderingSettings, number: str) -> Path:
    return settings.document_root() / "production" / "2026-02" / "invoices-pdf" / f"{number}.pdf"


async def published(app: Any) -> dict[tuple[str, int], bool]:
    async with app.state.runtime.sessions() as session:
        rows = await session.execute(
            select(DocumentVersionRow.key, DocumentVersionRow.version, DocumentVersionRow.published_at)
        )
        return {(r.key, r.version): r.published_at is not None for r in rows}


async def test_a_copy_lost_between_commit_and_copy_is_written_again(rendering) -> None:
    app, settings, writer = rendering
    document = make_document(number="F2026-000010")
    await deliver(app.state.runtime, record_for(INVOICE_ISSUED, document, key=document.number))
    pdf = tree_pdf(settings, "F2026-000010")
    version_pdf = settings.document_root() / "versions" / "F2026-000010" / "v1" / "F2026-000010.pdf"
    assert pdf.read_bytes() == version_pdf.read_bytes()
    # The process dies after its commit, before its copy: the tree lacks the files.
    for kind in ("pdf", "xml", "json"):
        (
            settings.document_root() / "production" / "2026-02" / f"invoices-{kind}" / f"F2026-000010.{kind}"
        ).unlink()

    now = dt.datetime.now(dt.UTC)
    too_soon = await check(app, writer, now)  # a version younger than the settle time is left alone
    assert (too_soon.checked, too_soon.rewritten) == (0, 0) and not pdf.exists()

    done = await check(app, writer, now + LATER)
    assert (done.checked, done.rewritten) == (1, 1)
    assert pdf.read_bytes() == version_pdf.read_bytes()
    for kind in ("xml", "json"):
        assert (
            settings.document_root() / "production" / "2026-02" / f"invoices-{kind}" / f"F2026-000010.{kind}"
        ).is_file()
    assert await published(app) == {("F2026-000010", 1): True}
    again = await check(app, writer, now + LATER)
    assert (again.checked, again.rewritten) == (0, 0)


async def test_copies_in_place_are_only_marked(rendering) -> None:
    app, settings, writer = rendering
    for n in (11, 12):
        document = make_document(number=f"F2026-0000{n}")
        await deliver(app.state.runtime, record_for(INVOICE_ISSUED, document, key=document.number))
    before = {n: tree_pdf(settings, f"F2026-0000{n}").stat().st_mtime_ns for n in (11, 12)}
    done = await check(app, writer, dt.datetime.now(dt.UTC) + LATER)
    assert (done.checked, done.rewritten) == (2, 0)
    assert {n: tree_pdf(settings, f"F2026-0000{n}").stat().st_mtime_ns for n in (11, 12)} == before
    assert set((await published(app)).values()) == {True}


async def test_an_older_version_never_replaces_the_latest_in_the_tree(rendering) -> None:
    app, settings, writer = rendering
    runtime = app.state.runtime
    document = make_document(number="F2026-000013")
    await deliver(runtime, record_for(INVOICE_ISSUED, document, key=document.number))
    request = RenderRequested(request_id=str(uuid.uuid4()), reason="new address", document=document)
    await deliver(runtime, record_for(INVOICE_RENDER_REQUESTED, request, key=document.number))
    v2 = (settings.document_root() / "versions" / "F2026-000013" / "v2" / "F2026-000013.pdf").read_bytes()
    tree_pdf(settings, "F2026-000013").unlink()  # both versions unpublished, the copy gone

    done = await check(app, writer, dt.datetime.now(dt.UTC) + LATER)
    assert (done.checked, done.rewritten) == (2, 1)
    assert (
        hashlib.sha256(tree_pdf(settings, "F2026-000013").read_bytes()).digest()
        == hashlib.sha256(v2).digest()
    )
    assert await published(app) == {("F2026-000013", 1): True, ("F2026-000013", 2): True}
