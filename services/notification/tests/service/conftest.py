"""The notification service in-process on a fresh SQLite database, against a real SMTP server.

The SMTP server is aiosmtpd with STARTTLS and AUTH (the unit tests' fixtures). Kafka is not
running: incoming events are handed to the service's own idempotent consumer as records, and
outgoing ones stay in the outbox table, where the tests read them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy import select

from ledgerline_notification.adapters.orm import DeliveryRow, messaging
from ledgerline_notification.config import NotificationSettings
from ledgerline_notification.entrypoints.app import create_app
from ledgerline_shared.auth import mint_token
from ledgerline_shared.cloudevents import Envelope
from ledgerline_shared.contracts.events import DocumentRendered
from ledgerline_shared.document_store import FolderDocumentStore, sha256_hex
from ledgerline_shared.topics import CATALOG, DOCUMENT_RENDERED, EXPORT_COMPLETED, INVOICE_SEND_REQUESTED

# The unit tests' real SMTP server (aiosmtpd, STARTTLS, AUTH) and its fixtures, shared here.
from ..unit.conftest import (  # type: ignore[misc]  # noqa: F401
    SMTP_PASSWORD,
    SMTP_USER,
    RecordingHandler,
    RunningServer,
    StartServer,
    TlsFiles,
    client_document,
    free_port,
    smtp_server,
)
from ..unit.conftest import tls_files as tls_files  # type: ignore[misc]

SECRET = "test-secret-0123456789abcdef0123456789"
CLIENT_ID = "client-0001"


@dataclass
class FakeRecord:
    """What the consumer reads from an aiokafka record."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    partition: int = 0
    offset: int = 0


def notification_settings(
    data_dir: Path, smtp_port: int, tls: TlsFiles, **overrides: Any
) -> NotificationSettings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "jwt_secret": SECRET,
        "kafka_bootstrap_servers": "127.0.0.1:1",  # nothing listens: events stay in the outbox
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_starttls": True,
        "smtp_username": SMTP_USER,
        "smtp_password": SMTP_PASSWORD,
        "smtp_ca_file": tls.cert,
        "smtp_timeout_s": 5.0,
        "smtp_retry_for_s": 60.0,
        "smtp_retry_base_s": 0.2,
        "smtp_retry_max_delay_s": 1.0,
        "delivery_poll_s": 0.05,
    }
    values.update(overrides)
    return NotificationSettings(**values)


@dataclass
class Notification:
    """One running notification app and what a test needs around it."""

    app: Any
    http: httpx.AsyncClient
    settings: NotificationSettings
    offset: list[int] = field(default_factory=lambda: [0])

    @property
    def store(self) -> FolderDocumentStore:
        return FolderDocumentStore(self.settings.document_root())

    def token(self, *roles: str, sub: str = "alice") -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(self.settings, sub=sub, roles=roles)}"}

    async def feed(
        self, topic: str, data: BaseModel, key: str | None = None, ce_id: str | None = None
    ) -> str:
        """Hand one event to the service's consumer as Kafka would; returns its ce_id."""
        envelope = Envelope.new(source="/tests", type=topic, subject=key)
        if ce_id is not None:
            envelope = dataclasses.replace(envelope, id=ce_id)  # Kafka handing the same event again
        self.offset[0] += 1
        record = FakeRecord(
            topic=topic,
            key=key.encode() if key is not None else None,
            value=data.model_dump_json(by_alias=True).encode(),
            headers=envelope.headers(),
            offset=self.offset[0],
        )
        subscribers = self.app.state.subscribers
        handler = {
            DOCUMENT_RENDERED: subscribers.on_rendered,
            INVOICE_SEND_REQUESTED: subscribers.on_send_requested,
            EXPORT_COMPLETED: subscribers.on_export_completed,
        }[topic]
        consumer = self.app.state.runtime.consumer
        await consumer.handle_record(record, CATALOG[topic].payload, handler, f"notification.{topic}")
        return envelope.id

    async def outbox(self, topic: str | None = None) -> list[dict[str, Any]]:
        table = messaging.outbox
        query = select(table).order_by(table.c.id)
        if topic:
            query = query.where(table.c.topic == topic)
        async with self.app.state.runtime.sessions() as session:
            rows = (await session.execute(query)).mappings().all()
        return [{"topic": r["topic"], "key": r["key"], "data": json.loads(r["payload"])} for r in rows]

    async def deliveries(self) -> list[DeliveryRow]:
        async with self.app.state.runtime.sessions() as session:
            return list((await session.scalars(select(DeliveryRow).order_by(DeliveryRow.created_at))).all())

    def store_pdf(
        self,
        number: str,
        version: int = 1,
        content: bytes | None = None,
        *,
        type: str = "invoice",
        language: str = "fr",
        with_json: bool = True,
    ) -> tuple[str, bytes]:
        """The PDF of a version and, as rendering writes it beside the PDF, its JSON document."""
        pdf = content or b"%PDF-1.7\n" + os.urandom(40 * 1024) + b"\n%%EOF\n"
        path = f"versions/{number}/v{version}/{number}.pdf"
        if with_json:
            document = client_document(number, type, language)
            self.store.write(path.removesuffix(".pdf") + ".json", document.model_dump_json().encode())
        self.store.write(path, pdf)
        return path, pdf


def rendered_event(
    number: str | None,
    pdf_path: str,
    pdf: bytes,
    *,
    type: str = "invoice",
    version: int = 1,
    language: str = "fr",
    recipients: list[dict[str, str]] | None = None,
    client_id: str = CLIENT_ID,
) -> DocumentRendered:
    ref = {"path": pdf_path, "sha256": sha256_hex(pdf), "size": len(pdf)}
    return DocumentRendered.model_validate(
        {
            "number": number,
            "document_id": str(uuid.uuid4()),
            "type": type,
            "version": version,
            "generation_count": version,
            "files": {"pdf": ref, "json": {**ref, "path": pdf_path.replace(".pdf", ".json")}},
            "issue_date": "2026-01-31",
            "client_id": client_id,
            "language": language,
            "recipients": recipients
            if recipients is not None
            else [
                {"name": "Zoé Müller", "email": "zoe@client.example"},
                {"name": "Accounts Payable", "email": "ap@client.example"},
            ],
        }
    )


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout: float = 15.0, what: str = "") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.05)


RunNotification = Callable[..., Any]


@pytest.fixture
def run_notification(tmp_path: Path, request: pytest.FixtureRequest) -> RunNotification:
    """`async with run_notification(smtp_port, **settings) as service:`; same data dir each time."""

    tls: TlsFiles = request.getfixturevalue("tls_files")

    @asynccontextmanager
    async def run(smtp_port: int, **overrides: Any) -> AsyncIterator[Notification]:
        settings = notification_settings(tmp_path, smtp_port, tls, **overrides)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://notification") as http:
                yield Notification(app, http, settings)

    return run
