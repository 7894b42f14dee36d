"""The test Kafka cluster (deploy/kafka.sh cluster): 3 brokers and 3 controllers on ports of their own
(29292-29297 plus LEDGERLINE_TEST_PORT_OFFSET), with the catalog's topics at replication factor 3 and
min.insync.replicas 2, SASL/SCRAM and the ACLs as on the single broker. The `kafka_cluster` fixture
(tests/conftest.py) starts it once per session; these helpers kill and inspect its brokers."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from e2e_support import PORT_OFFSET, STACK_SECRET
from ledgerline_stack import kafka_credentials_env, kafka_script

from ledgerline_shared.messaging.kafka_security import kafka_client_options
from ledgerline_shared.settings import Settings

BROKERS = 3
PORT = 29292 + PORT_OFFSET  # brokers 29292-29294
CONTROLLER_PORT = 29295 + PORT_OFFSET  # controllers 29295-29297
BOOTSTRAP = ",".join(f"127.0.0.1:{PORT + i}" for i in range(BROKERS))


def cluster(data: Path, *args: str) -> None:
    """deploy/kafka.sh cluster ARGS on the test cluster's ports (`start` also restarts a killed node)."""
    kafka_script("cluster", *args, port=PORT, controller_port=CONTROLLER_PORT, data_dir=data)


def admin_auth(data: Path) -> dict[str, Any]:
    """aiokafka keyword arguments of the cluster's admin principal."""
    env = kafka_credentials_env(data / "credentials", "admin")
    values = {k.removeprefix("LEDGERLINE_").lower(): v for k, v in env.items()}
    return kafka_client_options(Settings(jwt_secret=STACK_SECRET, **values))


def broker_pid(data: Path, number: int) -> int:
    return int((data / f"broker-{number}" / "kafka.pid").read_text())


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead, just not reaped yet


def kill_broker(data: Path, number: int) -> None:
    """kill -9 of broker `number` (1-3), waited for."""
    pid = broker_pid(data, number)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid), f"broker {number} (pid {pid}) still alive after SIGKILL"


async def partitions(data: Path, topic: str) -> list[dict[str, Any]]:
    admin = AIOKafkaAdminClient(**admin_auth(data), bootstrap_servers=BOOTSTRAP, request_timeout_ms=5000)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
        assert described[0]["error_code"] == 0, described
        return list(described[0]["partitions"])
    finally:
        await admin.close()


async def until_isr(data: Path, topic: str, size: int, timeout_s: float) -> float:
    """Until every partition of `topic` has `size` in-sync replicas; returns the seconds waited."""
    started = time.monotonic()
    seen: list[int] = []
    while time.monotonic() - started < timeout_s:
        try:
            seen = [len(p["isr"]) for p in await partitions(data, topic)]
            if seen and all(n == size for n in seen):
                return time.monotonic() - started
        except Exception:  # a broker that just died may still be in the client's metadata
            pass
        await asyncio.sleep(0.5)
    raise AssertionError(f"ISR sizes of {topic} still {seen}, not all {size}, after {timeout_s:.0f} s")
