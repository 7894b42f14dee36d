"""Cross-service fixtures: the real Kafka broker and PostgreSQL that deploy/test.sh started.

LEDGERLINE_TEST_KAFKA and LEDGERLINE_TEST_PG name them. Without them (a developer running pytest by
hand) these tests are skipped; under CI they must run, so their absence fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _need(variable: str) -> str:
    value = os.environ.get(variable)
    if not value:
        if os.environ.get("CI"):
            pytest.fail(f"{variable} is not set: make test starts the broker and the database and sets it")
        pytest.skip(f"needs {variable}: run through make test")
    return value


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return _need("LEDGERLINE_TEST_KAFKA")


@pytest.fixture(scope="session")
def postgres_server() -> str:
    return _need("LEDGERLINE_TEST_PG")


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


@pytest.fixture
async def test_topic(kafka_bootstrap: str) -> AsyncIterator[str]:
    """A topic of one partition (and its .dlq) for one test, so order on the partition is observable."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    name = f"test.{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name, 1, 1), NewTopic(name + ".dlq", 1, 1)], timeout_ms=20000
        )
        yield name
    finally:
        await admin.close()


@pytest.fixture
def tmp_data(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


# -- the whole stack: four service processes on the test broker and database ---------------------
import asyncio  # noqa: E402
import email  # noqa: E402
import email.policy  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from email.message import EmailMessage  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402

from ledgerline_shared.auth import mint_token  # noqa: E402
from ledgerline_shared.settings import Settings  # noqa: E402

STACK_SECRET = "stack-test-secret-0123456789abcdef0123456789"
STACK_PORTS = {"invoicing": 18101, "rendering": 18102, "notification": 18103, "export": 18104}
STACK_SMTP_PORT = 12525
STACK_SFTP_PORT = 12222


class MailSink:
    """A real SMTP server (aiosmtpd) keeping what it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        self.messages.append(msg)  # type: ignore[arg-type]
        return "250 OK"

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
    tokens: dict[str, str] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return str(self.config.url(service))

    def token(self, *roles: str, sub: str = "alice") -> dict[str, str]:
        settings = Settings(jwt_secret=STACK_SECRET)
        return {"Authorization": f"Bearer {mint_token(settings, sub=sub, roles=roles, email=f'{sub}@ledgerline.test')}"}

    def http(self, service: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url(service), timeout=30)


async def eventually(check: Any, timeout: float = 60.0, interval: float = 0.3) -> Any:
    """Poll `check` (async, returning a truthy value when done) until it passes."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"not reached in {timeout:.0f} s (last: {last!r})")


@pytest.fixture(scope="session")
async def stack(kafka_bootstrap: str, postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningStack]:
    from ledgerline_stack import Stack, StackConfig

    run = uuid.uuid4().hex[:8]
    names = {svc: f"stack_{svc}_{run}" for svc in STACK_PORTS}
    urls = {svc: await create_database(postgres_server, name) for svc, name in names.items()}
    data_dir = tmp_path_factory.mktemp("stack-data")
    sink = MailSink()
    smtp = Controller(sink, hostname="127.0.0.1", port=STACK_SMTP_PORT)
    smtp.start()
    config = StackConfig(
        kafka=kafka_bootstrap, data_dir=data_dir, jwt_secret=STACK_SECRET, smtp_port=STACK_SMTP_PORT,
        sftp_port=STACK_SFTP_PORT, ports=dict(STACK_PORTS), database_urls=urls,
        extra_env={"LEDGERLINE_RENDER_WORKERS": "2", "LEDGERLINE_SMTP_RETRY_FOR_S": "180"},
    )
    running = Stack(config, ROOT / "var" / "test" / "logs" / run)
    running.start()
    try:
        await asyncio.to_thread(running.wait_ready, 180)
        yield RunningStack(running, config, sink, data_dir)
    finally:
        running.stop()
        smtp.stop()
        for name in names.values():
            await drop_database(postgres_server, name)
