"""The export service in-process on a fresh SQLite database, through its real HTTP app and SFTP server.

Kafka is not needed: events the service would publish stay in the outbox, where a test reads them;
incoming events are fed through the runtime's own idempotent consumer with a record built like the
broker's. Documents are built here with the spec's rules (line net half-up, VAT per rate on the sum of
the nets) independently of the code under test, and their PDFs are real files written to the store.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from export_documents import (
    HOSTILE_CLIENT,
    NEGATIVE_LINE_INVOICE_LINES,
    four_rates_invoice,
    make_document,
    negative_line_invoice,
)
from pydantic import BaseModel
from pypdf import PdfWriter
from sqlalchemy import select

from ledgerline_export.adapters.orm import messaging
from ledgerline_export.config import ExportSettings
from ledgerline_export.entrypoints.app import create_app
from ledgerline_shared.auth import mint_token
from ledgerline_shared.cloudevents import Envelope
from ledgerline_shared.contracts.document import (
    Document,
    DocumentType,
)
from ledgerline_shared.contracts.events import DocumentRendered, FileRef, RenderedFiles
from ledgerline_shared.document_store import FolderDocumentStore, sha256_hex
from ledgerline_shared.testing import deliver, record_for
from ledgerline_shared.topics import DOCUMENT_RENDERED

SECRET = "test-secret-0123456789abcdef0123456789"


def january() -> list[Document]:
    """Invoices at four rates (one with a negative line), two credit notes, a proforma; February's one.

    Beside unit/conftest.py's month_documents(): the same four-rate and negative-line invoices
    (export_documents.py), with a second credit note and a February invoice the service tests need."""
    return [
        make_document("F2026-000010", issue_date=dt.date(2026, 1, 31)),
        four_rates_invoice(),
        negative_line_invoice(),
        make_document(
            "AV2026-000001",
            DocumentType.CREDIT_NOTE,
            issue_date=dt.date(2026, 1, 25),
            lines=[("Forfait mobile 20 Go", "1", "19.99", "20.00", "706100")],
            original="F2026-000010",
        ),
        make_document(
            "AV2026-000002",
            DocumentType.CREDIT_NOTE,
            client_code="C0003",
            client_name=HOSTILE_CLIENT,
            issue_date=dt.date(2026, 1, 26),
            lines=NEGATIVE_LINE_INVOICE_LINES,  # credits all of F2026-000003
            original="F2026-000003",
        ),
        make_document(
            "PF2026-000001",
            DocumentType.PROFORMA,
            client_code="C0002",
            client_name="Hôtel du Lac",
            issue_date=dt.date(2026, 1, 28),
        ),
        make_document("F2026-000011", issue_date=dt.date(2026, 2, 1)),  # next month: never in January
    ]


def pdf_bytes(pages: int, width: int) -> bytes:
    """A real PDF; the page width tells which document a page of a merged file came from."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=width, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


class ExportService:
    def __init__(self, http: httpx.AsyncClient, app: Any, settings: ExportSettings) -> None:
        self.http = http
        self.app = app
        self.settings = settings
        self.runtime = app.state.runtime
        self.store = FolderDocumentStore(settings.document_root())

    def token(self, *roles: str, sub: str = "alice", email: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(self.settings, sub=sub, roles=roles, email=email)}"}

    async def deliver(self, topic: str, key: str, data: BaseModel, ce_id: str | None = None) -> None:
        """One message through the subscription the service registered, as the broker would hand it."""
        envelope = Envelope.new(source="/ledgerline/test", type=topic, subject=key)
        if ce_id is not None:
            envelope = dataclasses.replace(envelope, id=ce_id)
        await deliver(self.runtime, record_for(topic, data, key, envelope))

    async def issue(self, doc: Document) -> None:
        topic = {
            DocumentType.INVOICE: "invoice.issued",
            DocumentType.CREDIT_NOTE: "creditnote.issued",
            DocumentType.PROFORMA: "proforma.created",
        }[doc.type]
        assert doc.number
        await self.deliver(topic, doc.number, doc)

    def write_files(self, doc: Document, version: int, pages: int, width: int) -> dict[str, bytes]:
        """What rendering stores: the version's files, and the latest copy in the production tree."""
        assert doc.number
        month = doc.issue_date.strftime("%Y-%m")
        contents = {
            "pdf": pdf_bytes(pages, width),
            "xml": f"<Invoice><ID>{doc.number}</ID><Version>{version}</Version></Invoice>".encode(),
            "json": json.dumps({"number": doc.number, "version": version}).encode(),
        }
        for ext, data in contents.items():
            self.store.write(f"versions/{doc.number}/v{version}/{doc.number}.{ext}", data)
            self.store.write(f"production/{month}/invoices-{ext}/{doc.number}.{ext}", data)
        return contents

    async def render(
        self, doc: Document, *, version: int = 1, pages: int = 1, width: int = 595
    ) -> dict[str, bytes]:
        assert doc.number
        contents = self.write_files(doc, version, pages, width)

        def ref(ext: str) -> FileRef:
            path = f"versions/{doc.number}/v{version}/{doc.number}.{ext}"
            return FileRef(path=path, sha256=sha256_hex(contents[ext]), size=len(contents[ext]))

        event = DocumentRendered(
            number=doc.number,
            document_id=doc.id,
            type=doc.type,
            version=version,
            generation_count=version,
            files=RenderedFiles(pdf=ref("pdf"), ubl=ref("xml"), json=ref("json")),
            issue_date=doc.issue_date,
            client_id=doc.buyer.client_id,
        )
        await self.deliver(DOCUMENT_RENDERED, doc.number, event)
        return contents

    async def outbox(self, topic: str | None = None) -> list[dict[str, Any]]:
        table = messaging.outbox
        query = select(table).order_by(table.c.id)
        if topic:
            query = query.where(table.c.topic == topic)
        async with self.runtime.sessions() as session:
            rows = (await session.execute(query)).mappings().all()
        return [{"topic": r["topic"], "key": r["key"], "data": json.loads(r["payload"])} for r in rows]

    async def finished(self, export_id: str, headers: dict[str, str], timeout: float = 60) -> dict[str, Any]:
        """Polls the job's status through the API until it is completed or failed."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            answer = await self.http.get(f"/api/v1/exports/{export_id}", headers=headers)
            assert answer.status_code == 200, answer.text
            body: dict[str, Any] = answer.json()
            if body["status"] in ("completed", "failed"):
                return body
            assert asyncio.get_running_loop().time() < deadline, body
            await asyncio.sleep(0.05)


def export_settings(data_dir: Path) -> ExportSettings:
    return ExportSettings(
        data_dir=data_dir,
        jwt_secret=SECRET,
        kafka_bootstrap_servers="127.0.0.1:1",  # nothing listens: events stay in the outbox
        sftp_host="127.0.0.1",
        sftp_port=0,  # any free port; the bound one is app.state.sftp.port
    )


@asynccontextmanager
async def running(settings: ExportSettings) -> AsyncIterator[ExportService]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://export") as http:
            yield ExportService(http, app, settings)


@pytest.fixture
async def export(tmp_path: Path) -> AsyncIterator[ExportService]:
    async with running(export_settings(tmp_path)) as service:
        yield service


@pytest.fixture
async def january_loaded(export: ExportService) -> tuple[ExportService, list[Document]]:
    """January issued and rendered (page widths tell documents apart), February's invoice too."""
    docs = january()
    for i, doc in enumerate(docs):
        await export.issue(doc)
        await export.render(doc, pages=1 + i % 2, width=500 + 10 * i)
    return export, docs


@pytest.fixture
def make_doc() -> Any:
    """The document factory (tests cannot import conftest by name: several packages have one)."""
    return make_document


@pytest.fixture
def pdf_of() -> Any:
    return pdf_bytes


@pytest.fixture
def start_export(tmp_path: Path) -> Any:
    """Starts the service on the same data folder as often as asked (a restart keeps the database)."""
    return lambda: running(export_settings(tmp_path))
