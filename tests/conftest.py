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
from e2e_support import ROOT, kafka_auth, kafka_credentials


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


@pytest.fixture
async def test_topic(kafka_bootstrap: str) -> AsyncIterator[str]:
    """A topic of one partition (and its .dlq) for one test, so order on the partition is observable."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    name = f"test.{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(**kafka_auth(), bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1), NewTopic(name + ".dlq", 1, 1)], timeout_ms=20000)
        yield name
    finally:
        await admin.close()


@pytest.fixture
def tmp_data(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The fuzzer (issue 11 item 11) writes at random through every API of the shared stack: last.
    items.sort(key=lambda item: "test_item11_fuzzing" in item.nodeid)


# -- the whole stack: four service processes on the test broker and database ---------------------
import asyncio  # noqa: E402

from aiosmtpd.controller import Controller  # noqa: E402
from e2e_support import (  # noqa: E402
    STACK_PORTS,
    STACK_SECRET,
    STACK_SFTP_PORT,
    STACK_SMTP_PORT,
    MailSink,
    RunningStack,
    create_database,
    drop_database,
)


@pytest.fixture(scope="session")
async def stack(
    kafka_bootstrap: str, postgres_server: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningStack]:
    from ledgerline_stack import Stack, StackConfig

    run = uuid.uuid4().hex[:8]
    names = {svc: f"stack_{svc}_{run}" for svc in STACK_PORTS}
    urls = {svc: await create_database(postgres_server, name) for svc, name in names.items()}
    data_dir = tmp_path_factory.mktemp("stack-data")
    sink = MailSink()
    smtp = Controller(sink, hostname="127.0.0.1", port=STACK_SMTP_PORT)
    smtp.start()
    config = StackConfig(
        kafka=kafka_bootstrap,
        data_dir=data_dir,
        jwt_secret=STACK_SECRET,
        smtp_port=STACK_SMTP_PORT,
        sftp_port=STACK_SFTP_PORT,
        ports=dict(STACK_PORTS),
        database_urls=urls,
        kafka_credentials=kafka_credentials(),
        extra_env={
            "LEDGERLINE_RENDER_WORKERS": "2",
            "LEDGERLINE_SMTP_RETRY_FOR_S": "300",
            # Retries every few seconds at most, so mail flows soon after an outage ends.
            "LEDGERLINE_SMTP_RETRY_MAX_DELAY_S": "5",
        },
    )
    running = Stack(config, ROOT / "var" / "test" / "logs" / run)
    running.start()
    handle: RunningStack | None = None
    try:
        await asyncio.to_thread(running.wait_ready, 180)
        handle = RunningStack(running, config, sink, data_dir, smtp)
        yield handle
    finally:
        running.stop()
        try:
            (handle.smtp if handle is not None else smtp).stop()
        except Exception:
            pass  # already stopped by a test
        for name in names.values():
            await drop_database(postgres_server, name)
