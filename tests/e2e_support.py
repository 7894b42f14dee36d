"""What the cross-service tests share: the running stack, a real SMTP sink, polling, databases."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from ledgerline_stack import kafka_credentials_env

from ledgerline_shared.auth import mint_token
from ledgerline_shared.messaging.kafka_security import kafka_client_options
from ledgerline_shared.settings import Settings

ROOT = Path(__file__).resolve().parents[1]

# Each service's app module, settings module and settings class, for tests that build the apps in process.
SERVICE_APPS = {
    "invoicing": ("ledgerline_invoicing.entrypoints.app", "ledgerline_invoicing.config", "InvoicingSettings"),
    "rendering": ("ledgerline_rendering.entrypoints.app", "ledgerline_rendering.config", "RenderingSettings"),
    "notification": (
        "ledgerline_notification.entrypoints.app",
        "ledgerline_notification.config",
        "NotificationSettings",
    ),
    "export": ("ledgerline_export.entrypoints.app", "ledgerline_export.config", "ExportSettings"),
}


async def create_database(server: str, name: str) -> str:
    import asyncpg

    admin = await asyncpg.connect(f"{server}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"{server.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"


async def drop_database(server: str, name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(f"{server}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


# -- the whole stack: four service processes on the test broker and database ---------------------


STACK_SECRET = "stack-test-secret-0123456789abcdef0123456789"


def kafka_credentials() -> Path | None:
    """deploy/kafka.sh's credentials folder of the test broker (deploy/test.sh names it)."""
    folder = os.environ.get("LEDGERLINE_TEST_KAFKA_CREDENTIALS")
    return Path(folder) if folder else None


def kafka_principal(principal: str = "admin") -> Settings:
    """Settings that log in to the test broker as `principal` (the tests' own clients: admin)."""
    env = kafka_credentials_env(kafka_credentials(), principal)
    values = {k.removeprefix("LEDGERLINE_").lower(): v for k, v in env.items()}
    return Settings(jwt_secret=STACK_SECRET, **values)


def kafka_auth(principal: str = "admin") -> dict[str, Any]:
    """aiokafka keyword arguments for `principal` on the test broker."""
    return kafka_client_options(kafka_principal(principal))


# deploy/test.sh shifts every test port by LEDGERLINE_TEST_PORT_OFFSET so checkouts can test side by side.
PORT_OFFSET = int(os.environ.get("LEDGERLINE_TEST_PORT_OFFSET", "0"))
STACK_PORTS = {
    name: port + PORT_OFFSET
    for name, port in {"invoicing": 18101, "rendering": 18102, "notification": 18103, "export": 18104}.items()
}
STACK_SMTP_PORT = 12525 + PORT_OFFSET
STACK_SFTP_PORT = 12222 + PORT_OFFSET


class MailSink:
    """A real SMTP server (aiosmtpd) keeping what it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default
        )
        self.messages.append(msg)  # type: ignore[arg-type]
        return "250 OK"

    def pdf_counts(self) -> Counter[str]:
        """How many messages arrived with each document's PDF attached (`<number>.pdf`), in one pass."""
        seen: Counter[str] = Counter()
        for msg in list(self.messages):
            for name in (p.get_filename() or "" for p in msg.iter_attachments()):
                if name.endswith(".pdf"):
                    seen[name.removesuffix(".pdf")] += 1
        return seen

    def for_number(self, number: str) -> list[EmailMessage]:
        out = []
        for msg in self.messages:
            names = [p.get_filename() for p in msg.iter_attachments()]
            if f"{number}.pdf" in names:
                out.append(msg)
        return out


@dataclass
class RunningStack:
    stack: Any
    config: Any
    mail: MailSink
    data_dir: Path
    smtp: Any = None  # the aiosmtpd controller: a test may stop it to simulate an outage
    tokens: dict[str, str] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return str(self.config.url(service))

    def token(self, *roles: str, sub: str = "alice") -> dict[str, str]:
        settings = Settings(jwt_secret=STACK_SECRET)
        token = mint_token(settings, sub=sub, roles=roles, email=f"{sub}@ledgerline.test")
        return {"Authorization": f"Bearer {token}"}

    def http(self, service: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url(service), timeout=30)


async def eventually(check: Any, timeout: float = 60.0, interval: float = 0.3, what: str = "") -> Any:
    """Poll `check` (async, returning a truthy value when done) until it passes; `what` names it in
    the failure."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"{what + ': ' if what else ''}not reached in {timeout:.0f} s (last: {last!r})")


async def read_topic(
    bootstrap: str, topic: str, key: str, timeout: float = 30.0, *, wait: bool = True
) -> list[dict]:
    """Every message of `topic` with that key, read from the start up to the end; waits for one."""

    async def read_all() -> list[dict]:
        admin = AIOKafkaAdminClient(**kafka_auth(), bootstrap_servers=bootstrap)
        await admin.start()
        try:
            described = await admin.describe_topics([topic])
        finally:
            await admin.close()
        partitions = [TopicPartition(topic, p["partition"]) for p in described[0]["partitions"]]
        consumer = AIOKafkaConsumer(**kafka_auth(), bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            found: list[dict] = []
            for tp in partitions:
                while await consumer.position(tp) < ends[tp]:
                    for record in (await consumer.getmany(tp, timeout_ms=2000)).get(tp, []):
                        if record.key == key.encode():
                            found.append(
                                {
                                    "headers": {k: v.decode() for k, v in record.headers},
                                    "data": json.loads(record.value),
                                    "offset": record.offset,
                                }
                            )
            return found
        finally:
            await consumer.stop()

    if not wait:  # what is there now, possibly nothing
        return await read_all()
    return await eventually(read_all, timeout, interval=0.5)


CLIENT = {
    "name": "Boulangerie Dupain",
    "address": {"line1": "3 place du Marché", "postcode": "69002", "city": "Lyon", "country": "FR"},
    "vat_id": "FR40303265045",
    "siren": "303265045",
    "language": "fr",
}


async def issue_invoice(stack: RunningStack, period: str = "2026-10") -> tuple[str, str]:
    h = stack.token("billing")
    async with stack.http("invoicing") as inv:
        article = {
            "code": "SKEL-SETUP",
            "label": "Mise en service",
            "kind": "one_time",
            "unit_price": "49.90",
            "vat_rate": "20.00",
            "accounting_account": "706100",
        }
        answer = await inv.post("/api/v1/articles", json=article, headers=h)
        assert answer.status_code in (201, 409), answer.text
        client = (await inv.post("/api/v1/clients", json=CLIENT, headers=h)).json()
        contact = await inv.post(
            f"/api/v1/clients/{client['id']}/contacts",
            json={"name": "Marie Dupain", "email": "marie@dupain.test", "invoice_recipient": True},
            headers=h,
        )
        assert contact.status_code == 201
        await inv.post(
            f"/api/v1/clients/{client['id']}/contacts",
            json={"name": "Paul Compta", "email": "paul@dupain.test", "invoice_recipient": False},
            headers=h,
        )
        item = await inv.post(
            f"/api/v1/clients/{client['id']}/one-time-items",
            json={"article_code": "SKEL-SETUP", "quantity": "2"},
            headers=h,
        )
        assert item.status_code == 201
        run = (
            await inv.post(
                "/api/v1/billing-runs",
                json={"period": period, "mode": "production", "client_ids": [client["id"]]},
                headers=h,
            )
        ).json()

        async def completed() -> dict | None:
            state = (await inv.get(f"/api/v1/billing-runs/{run['id']}", headers=h)).json()
            return state if state["status"] in ("completed", "failed") else None

        state = await eventually(completed, 60)
        assert state["status"] == "completed" and len(state["documents"]) == 1, state
        return state["documents"][0], client["id"]
