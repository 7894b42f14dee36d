"""Stopping Kafka makes /health/ready 503 on every service; starting it again brings them back to 200
without a restart. Uses a broker of its own, so the other tests' broker is never stopped."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from e2e_support import PORT_OFFSET, ROOT, eventually
from ledgerline_stack import SERVICES, Stack, StackConfig, kafka_script

PORT, CONTROLLER_PORT = 29092 + PORT_OFFSET, 29093 + PORT_OFFSET
# Two broker starts (SCRAM users at format, ACLs at create-topics) and a whole stack: on a loaded CI
# machine this needs more than the suite's default 300 s.
pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def own_kafka(kafka_bootstrap: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    # kafka_bootstrap: only to run where make test runs the broker scripts.
    data = tmp_path / "kafka"
    kafka_script("start", port=PORT, controller_port=CONTROLLER_PORT, data_dir=data)
    kafka_script("wait", "90", port=PORT, controller_port=CONTROLLER_PORT, data_dir=data)
    kafka_script("create-topics", port=PORT, controller_port=CONTROLLER_PORT, data_dir=data)
    yield data
    kafka_script("stop", port=PORT, controller_port=CONTROLLER_PORT, data_dir=data)


async def test_readiness_follows_kafka_without_restart(own_kafka: Path, tmp_path: Path) -> None:
    config = StackConfig(
        kafka=f"127.0.0.1:{PORT}",
        data_dir=tmp_path / "data",
        jwt_secret="outage-secret-0123456789abcdef012345",
        smtp_port=28525 + PORT_OFFSET,
        sftp_port=28222 + PORT_OFFSET,
        ports=dict(zip(SERVICES, (p + PORT_OFFSET for p in (28101, 28102, 28103, 28104)), strict=True)),
        kafka_credentials=own_kafka / "credentials",
    )
    stack = Stack(config, ROOT / "var" / "test" / "logs" / f"outage-{uuid.uuid4().hex[:6]}")
    stack.start()
    try:
        await asyncio.to_thread(stack.wait_ready, 180)
        pids = {name: proc.pid for name, proc in stack.processes.items()}

        async def all_status(code: int) -> bool:
            return all(
                await asyncio.gather(
                    *(asyncio.to_thread(lambda s=s: stack.ready(s) == code) for s in SERVICES)
                )
            )

        await asyncio.to_thread(
            kafka_script, "stop", port=PORT, controller_port=CONTROLLER_PORT, data_dir=own_kafka
        )
        await eventually(lambda: all_status(503), 60)

        await asyncio.to_thread(
            kafka_script, "start", port=PORT, controller_port=CONTROLLER_PORT, data_dir=own_kafka
        )
        await eventually(lambda: all_status(200), 120)
        assert {name: proc.pid for name, proc in stack.processes.items()} == pids
        assert all(proc.poll() is None for proc in stack.processes.values())
    finally:
        stack.stop()
