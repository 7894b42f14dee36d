"""The rendering service in-process: events in (as Kafka hands them), versions, files and API out.

Regeneration after a change of logo and of client address: version 2 shows the new ones, version 1
is still served unchanged, and `document.rendered` counts 2.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from pypdf import PdfReader
from rendering_factory import make_buyer, make_document
from sqlalchemy import select

from ledgerline_rendering.adapters.orm import messaging
from ledgerline_rendering.config import RenderingSettings
from ledgerline_rendering.entrypoints.app import create_app
from ledgerline_shared.auth import mint_token
from ledgerline_shared.contracts.document import Address
from ledgerline_shared.contracts.events import RenderRequested
from ledgerline_shared.testing import deliver, record_for
from ledgerline_shared.topics import DOCUMENT_RENDERED, INVOICE_ISSUED, INVOICE_RENDER_REQUESTED

SECRET = "render-test-secret-0123456789abcdef012345"
NEW_LOGO = """<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40"><text x="0" y="30"
font-size="24">NEWLOGO</text></svg>"""


@pytest.fixture
async def rendering(tmp_path: Path) -> AsyncIterator[tuple[Any, httpx.AsyncClient, RenderingSettings]]:
    settings = RenderingSettings(
        data_dir=tmp_path, jwt_secret=SECRET, kafka_bootstrap_servers="127.0.0.1:1", render_workers=1
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r") as http:
            yield app, http, settings


def auth(settings: RenderingSettings, *roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(settings, sub='t', roles=roles)}"}


async def rendered_events(app: Any) -> list[dict[str, Any]]:
    table = messaging.outbox
    async with app.state.runtime.sessions() as session:
        rows = (
            (
                await session.execute(
                    select(table.c.payload).where(table.c.topic == DOCUMENT_RENDERED).order_by(table.c.id)
                )
            )
            .scalars()
            .all()
        )
    return [json.loads(r) for r in rows]


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def test_regeneration_uses_current_logo_and_address_and_keeps_version_1(rendering) -> None:
    app, http, settings = rendering
    runtime = app.state.runtime
    document = make_document(number="F2026-000007")
    issued = record_for(INVOICE_ISSUED, document, key=document.number)
    await deliver(runtime, issued)
    await deliver(runtime, issued)  # Kafka redelivers the same event: no second version
    await deliver(
        runtime, record_for(INVOICE_ISSUED, document, key=document.number)
    )  # re-sent under a new id
    h = auth(settings, "readonly")
    v1 = (await http.get("/api/v1/documents/F2026-000007/pdf", headers=h)).content
    assert "3 avenue Jean Jaurès" in pdf_text(v1)
    assert (await http.get("/api/v1/documents/F2026-000007", headers=h)).json()["generation_count"] == 1

    # The operator changes the logo; the client moves.
    logo = settings.data_dir / "new-logo.svg"
    logo.write_text(NEW_LOGO)
    (settings.data_dir / "branding.json").write_text(json.dumps({"logo_path": str(logo)}))
    moved = make_buyer(
        address=Address(line1="99 rue Nouvelle", postcode="13001", city="Marseille", country="FR")
    )
    request = RenderRequested(
        request_id=str(uuid.uuid4()),
        reason="new logo and address",
        document=document.model_copy(update={"buyer": moved}),
    )
    again = record_for(INVOICE_RENDER_REQUESTED, request, key=document.number)
    await deliver(runtime, again)
    await deliver(
        runtime, record_for(INVOICE_RENDER_REQUESTED, request, key=document.number)
    )  # same request_id

    versions = (await http.get("/api/v1/documents/F2026-000007", headers=h)).json()
    assert versions["generation_count"] == 2 and [v["version"] for v in versions["versions"]] == [1, 2]
    v2 = (await http.get("/api/v1/documents/F2026-000007/pdf", headers=h)).content
    assert "99 rue Nouvelle" in pdf_text(v2) and "3 avenue Jean Jaurès" not in pdf_text(v2)
    # The new logo's text is drawn in version 2 only.
    assert "NEWLOGO" in pdf_text(v2) and "NEWLOGO" not in pdf_text(v1)
    assert (await http.get("/api/v1/documents/F2026-000007/pdf?version=1", headers=h)).content == v1
    events = await rendered_events(app)
    assert [(e["version"], e["generation_count"]) for e in events] == [(1, 1), (2, 2)]
    assert events[1]["files"]["pdf"]["sha256"] == versions["versions"][1]["sha256"]["pdf"]
    # The SFTP tree (production/) holds the latest version.
    latest = settings.data_dir / "documents" / "production" / "2026-02" / "invoices-pdf" / "F2026-000007.pdf"
    assert latest.read_bytes() == v2


async def test_portal_user_sees_only_its_own_documents(rendering) -> None:
    app, http, settings = rendering
    await deliver(
        app.state.runtime, record_for(INVOICE_ISSUED, make_document(number="F2026-000008"), "F2026-000008")
    )
    own = auth(settings, "client:c-0001")  # the factory's buyer
    other = auth(settings, "client:c-9999")
    assert (await http.get("/api/v1/documents/F2026-000008/ubl", headers=own)).status_code == 200
    assert (await http.get("/api/v1/documents/F2026-000008/ubl", headers=other)).status_code == 404
    assert (await http.get("/api/v1/documents/F2026-000008/json", headers=other)).status_code == 404
    assert (await http.get("/api/v1/documents/F2026-000099", headers=own)).status_code == 404
    assert (await http.get("/api/v1/documents/F2026-000008/pdf?version=5", headers=own)).status_code == 404


async def test_files_left_by_an_attempt_that_never_committed_do_not_block_the_document(rendering) -> None:
    app, http, settings = rendering
    # A previous attempt wrote version 1's files, then its transaction failed (a crash, a lost database).
    leftover = settings.data_dir / "documents" / "versions" / "F2026-000009" / "v1" / "F2026-000009.pdf"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"%PDF- half of an old attempt")
    await deliver(
        app.state.runtime, record_for(INVOICE_ISSUED, make_document(number="F2026-000009"), "F2026-000009")
    )
    h = auth(settings, "readonly")
    answer = await http.get("/api/v1/documents/F2026-000009/pdf", headers=h)
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF-1.")
    assert leftover.read_bytes() == answer.content


async def test_the_json_names_the_same_seller_as_the_pdf(rendering) -> None:
    app, http, settings = rendering
    (settings.data_dir / "branding.json").write_text(json.dumps({"seller_name": "Opérateur Renommé SAS"}))
    await deliver(
        app.state.runtime, record_for(INVOICE_ISSUED, make_document(number="F2026-000011"), "F2026-000011")
    )
    h = auth(settings, "readonly")
    stored = (await http.get("/api/v1/documents/F2026-000011/json", headers=h)).json()
    pdf = (await http.get("/api/v1/documents/F2026-000011/pdf", headers=h)).content
    assert stored["seller"]["name"] == "Opérateur Renommé SAS" and "Opérateur Renommé SAS" in pdf_text(pdf)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_renderings_are_counted_once_committed_and_timed(rendering) -> None:
    app, _http, _settings = rendering
    runtime = app.state.runtime
    first = sample("ledgerline_documents_rendered_total", type="invoice", version="first")
    regenerated = sample("ledgerline_documents_rendered_total", type="invoice", version="regeneration")
    timed = sample("ledgerline_render_seconds_count", type="invoice")
    document = make_document(number="F2026-000010")
    issued = record_for(INVOICE_ISSUED, document, key=document.number)
    await deliver(runtime, issued)
    await deliver(runtime, issued)  # redelivered: no second version, nothing counted
    assert sample("ledgerline_documents_rendered_total", type="invoice", version="first") == first + 1
    request = RenderRequested(request_id=str(uuid.uuid4()), reason="new address", document=document)
    await deliver(runtime, record_for(INVOICE_RENDER_REQUESTED, request, key=document.number))
    assert (
        sample("ledgerline_documents_rendered_total", type="invoice", version="regeneration")
        == regenerated + 1
    )
    assert sample("ledgerline_documents_rendered_total", type="invoice", version="first") == first + 1
    assert sample("ledgerline_render_seconds_count", type="invoice") == timed + 2
