"""Consumer lag per partition: the group's committed offset against the partition's end offset."""

from __future__ import annotations

from dataclasses import dataclass

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


async def consumer_lag(bootstrap: str, subscriptions: list[tuple[str, str]]) -> list[PartitionLag]:
    """Lag of each (topic, group) pair; raises if Kafka does not answer."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=3000)
    await admin.start()
    await probe.start()
    try:
        out: list[PartitionLag] = []
        for topic, group in subscriptions:
            partitions = probe.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in sorted(partitions)]
            if not tps:
                continue
            ends = await probe.end_offsets(tps)
            committed = await admin.list_consumer_group_offsets(group, partitions=tps)
            for tp in tps:
                meta = committed.get(tp)
                offset = meta.offset if meta is not None and meta.offset >= 0 else None
                out.append(PartitionLag(group, topic, tp.partition, offset, ends[tp]))
        return out
    finally:
        await probe.stop()
        await admin.close()
