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


# -- the whole stack: service processes on the test broker and database ---------------------------
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
from typing import Any  # noqa: E402

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
from site_support import (  # noqa: E402
    ROLES,
    SITE_GATEWAY_PORT,
    SITE_KAFKA_CONTROLLER_PORT,
    SITE_KAFKA_PORT,
    SITE_PORTS,
    SITE_SFTP_PORT,
    SITE_SMTP_PORT,
    Site,
    new_login,
)


@contextlib.asynccontextmanager
async def _running_stack(
    kafka: str,
    postgres_server: str,
    data_dir: Path,
    label: str,
    *,
    with_backoffice: bool = False,
    **config: Any,
) -> AsyncIterator[tuple[Any, MailSink, dict[str, Any]]]:
    """Service processes on fresh PostgreSQL databases and a real SMTP sink; all gone on exit.

    Yields (Stack, sink, holder); holder["smtp"] is the SMTP controller, which a test may replace.
    """
    from ledgerline_stack import BACKOFFICE, SERVICES, Stack, StackConfig

    run = uuid.uuid4().hex[:8]
    names = {svc: f"{label}_{svc}_{run}" for svc in SERVICES}
    urls = {svc: await create_database(postgres_server, name) for svc, name in names.items()}
    sink = MailSink()
    holder: dict[str, Any] = {"smtp": Controller(sink, hostname="127.0.0.1", port=config["smtp_port"])}
    holder["smtp"].start()
    stack_config = StackConfig(
        kafka=kafka, data_dir=data_dir, jwt_secret=STACK_SECRET, database_urls=urls, **config
    )
    running = Stack(stack_config, ROOT / "var" / "test" / "logs" / f"{label}-{run}")
    running.start((*SERVICES, BACKOFFICE) if with_backoffice else SERVICES)
    try:
        await asyncio.to_thread(running.wait_ready, 180)
        yield running, sink, holder
    finally:
        running.stop()
        try:
            holder["smtp"].stop()
        except Exception:
            pass  # already stopped by a test
        for name in names.values():
            await drop_database(postgres_server, name)


@pytest.fixture(scope="session")
def kafka_cluster(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The 3-broker test cluster (tests/kafka_cluster_support.py), started once, stopped at the end."""
    # kafka_bootstrap: only to run where make test runs the broker scripts.
    import time

    from kafka_cluster_support import BROKERS, cluster

    data = tmp_path_factory.mktemp("kafka-cluster")
    started = time.monotonic()
    try:
        cluster(data, "start", str(BROKERS))
        cluster(data, "wait", "120")
        cluster(data, "create-topics")
        print(f"cluster of {BROKERS} brokers ready with its topics in {time.monotonic() - started:.0f} s")
        yield data
    finally:
        cluster(data, "stop")


@pytest.fixture(scope="session")
def otlp_receiver() -> Iterator[Any]:
    """An OTLP/HTTP collector on the loopback: the stack's services export their spans to it."""
    from otlp_receiver import OtlpReceiver

    receiver = OtlpReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture(scope="session")
async def stack(
    kafka_bootstrap: str, postgres_server: str, tmp_path_factory: pytest.TempPathFactory, otlp_receiver: Any
) -> AsyncIterator[RunningStack]:
    data_dir = tmp_path_factory.mktemp("stack-data")
    extra_env = {
        # Traces go to the test's receiver (loopback only); tests/test_traces_e2e.py reads them back.
        "LEDGERLINE_OTLP_ENDPOINT": otlp_receiver.endpoint,
        "LEDGERLINE_RENDER_WORKERS": "2",
        "LEDGERLINE_SMTP_RETRY_FOR_S": "300",
        # Retries every few seconds at most, so mail flows soon after an outage ends.
        "LEDGERLINE_SMTP_RETRY_MAX_DELAY_S": "5",
    }
    async with _running_stack(
        kafka_bootstrap,
        postgres_server,
        data_dir,
        "stack",
        smtp_port=STACK_SMTP_PORT,
        sftp_port=STACK_SFTP_PORT,
        ports=dict(STACK_PORTS),
        extra_env=extra_env,
        kafka_credentials=kafka_credentials(),
    ) as (running, sink, holder):
        handle = RunningStack(running, running.config, sink, data_dir, holder["smtp"])
        try:
            yield handle
        finally:
            holder["smtp"] = handle.smtp  # a test may have restarted it


# -- the whole product behind the gateway: for the gateway and browser tests ----------------------


@pytest.fixture(scope="session")
async def site(
    kafka_bootstrap: str, postgres_server: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Site]:
    """Five services and the gateway on their own ports and databases, the demo operator loaded, users."""
    from ledgerline_stack import PYTHON, kafka_script

    data_dir = tmp_path_factory.mktemp("site-data")
    broker = {"port": SITE_KAFKA_PORT, "controller_port": SITE_KAFKA_CONTROLLER_PORT}
    broker_dir = ROOT / "var" / "test" / "kafka-site"
    await asyncio.to_thread(kafka_script, "stop", **broker, data_dir=broker_dir)
    shutil.rmtree(broker_dir, ignore_errors=True)  # a fresh broker, as deploy/test.sh does
    await asyncio.to_thread(kafka_script, "start", **broker, data_dir=broker_dir)
    try:
        await asyncio.to_thread(kafka_script, "wait", "90", **broker, data_dir=broker_dir)
        await asyncio.to_thread(kafka_script, "create-topics", **broker, data_dir=broker_dir)
        site_kafka = f"127.0.0.1:{SITE_KAFKA_PORT}"
        credentials = broker_dir / "credentials"
        async for handle in _site_on(site_kafka, credentials, postgres_server, data_dir, PYTHON):
            yield handle
    finally:
        await asyncio.to_thread(kafka_script, "stop", **broker, data_dir=broker_dir)


async def _site_on(
    kafka: str, credentials: Path, postgres_server: str, data_dir: Path, python: str
) -> AsyncIterator[Site]:
    async with _running_stack(
        kafka,
        postgres_server,
        data_dir,
        "site",
        with_backoffice=True,
        smtp_port=SITE_SMTP_PORT,
        sftp_port=SITE_SFTP_PORT,
        ports=dict(SITE_PORTS),
        gateway_port=SITE_GATEWAY_PORT,
        gateway_dir=ROOT / "var" / "test" / f"gateway-{uuid.uuid4().hex[:8]}",
        extra_env={"LEDGERLINE_RENDER_WORKERS": "1", "LEDGERLINE_SMTP_RETRY_MAX_DELAY_S": "5"},
        kafka_credentials=credentials if credentials.exists() else None,
    ) as (running, sink, _holder):
        await asyncio.to_thread(running.gateway, "start")
        try:
            handle = Site(running, sink, data_dir)
            await _load_demo(handle, python)
            yield handle
        finally:
            running.gateway("stop")


async def _load_demo(site: Site, python: str) -> None:
    """The demo operator of `make run`, then one sign-in per role (the portal user for its first client)."""
    admin = site.token("admin")["Authorization"].removeprefix("Bearer ")
    demo = await asyncio.to_thread(
        subprocess.run,
        [
            python,
            str(ROOT / "deploy" / "demo"),
            "--url",
            site.api_url("invoicing"),
            "--token",
            admin,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    with site.api() as api:
        clients = api.get("/clients", params={"q": "DEMO-", "limit": 500}).json()
    site.portal_client, site.other_client = clients[0], clients[1]
    logins = {name: new_login(name, roles) for name, roles in ROLES.items()}
    portal_id = str(site.portal_client["id"])
    logins["portal"] = new_login("portal", f"client:{portal_id}", client_id=portal_id)
    for login in logins.values():
        await asyncio.to_thread(
            site.stack.add_user,
            login.username,
            login.password,
            login.roles,
            name=login.username.title(),
            email=login.email,
            client=login.client_id,
        )
    site.logins = logins


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """Debian's chromium, headless, driven by Playwright (never Playwright's own browser download)."""
    from browser_support import CHROMIUM
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield chromium
        finally:
            await chromium.close()
