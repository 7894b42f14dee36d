"""Consumer lag per partition: the group's committed offset against the partition's end offset.

One admin client and one group-less consumer live as long as the service: starting and stopping
aiokafka clients on every dashboard view leaks their internal task cancellations into the request.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None
    end: int

    @property
    def lag(self) -> int:
        return self.end - (self.committed or 0)


class LagProbe:
    def __init__(self, bootstrap: str, **security: Any) -> None:
        self._bootstrap = bootstrap
        self._security = security  # the service's own Kafka principal
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        admin = AIOKafkaAdminClient(
            **self._security, bootstrap_servers=self._bootstrap, request_timeout_ms=5000
        )
        await admin.start()
        consumer = AIOKafkaConsumer(
            **self._security,
            bootstrap_servers=self._bootstrap,
            enable_auto_commit=False,
            request_timeout_ms=5000,
        )
        await consumer.start()
        self._admin, self._consumer = admin, consumer

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
        if self._admin is not None:
            await self._admin.close()

    async def measure(self, subscriptions: list[tuple[str, str]]) -> list[PartitionLag]:
        """Lag of each (topic, group) pair; raises if Kafka does not answer."""
        if self._admin is None or self._consumer is None:
            raise RuntimeError("not connected to Kafka yet")
        topics = sorted({topic for topic, _ in subscriptions})
        described = {t["topic"]: t for t in await self._admin.describe_topics(topics)}
        out: list[PartitionLag] = []
        for topic, group in subscriptions:
            tps = [
                TopicPartition(topic, p["partition"]) for p in described.get(topic, {}).get("partitions", [])
            ]
            if not tps:
                continue
            ends = await self._consumer.end_offsets(tps)
            committed = await self._admin.list_consumer_group_offsets(group, partitions=tps)
            for tp in sorted(tps, key=lambda t: t.partition):
                meta = committed.get(tp)
                offset = meta.offset if meta is not None and meta.offset >= 0 else None
                out.append(PartitionLag(group, topic, tp.partition, offset, ends[tp]))
        return out


class RecentLag:
    """The probe's last answer, reused for a few seconds: each open dashboard refreshes every 10 s,
    and the gauge refresher (operations/gauges.py, which sets `ledgerline_consumer_lag`) as often."""

    def __init__(self, probe: LagProbe, service: str, *, max_age_s: float = 5.0) -> None:
        self._probe = probe
        self._service = service
        self._max_age_s = max_age_s
        self._cached: tuple[float, list[PartitionLag], str | None] = (-max_age_s, [], None)

    async def measure(self, subscriptions: list[tuple[str, str]]) -> tuple[list[PartitionLag], str | None]:
        """(rows, None), or ([], why) when Kafka does not answer: the page says so and goes on."""
        cached_at, rows, error = self._cached
        if time.monotonic() - cached_at < self._max_age_s:
            return rows, error
        try:
            rows = await asyncio.wait_for(self._probe.measure(subscriptions), 8.0)
            error = None
        except Exception as exc:
            rows, error = [], f"lag unavailable: {type(exc).__name__}: {exc}"
        self._cached = (time.monotonic(), rows, error)
        return rows, error
