"""A stand-in for the aiokafka producer the consumer dead-letters with, for the service tests that
drive `EventConsumer.handle_record` (the real broker path is proven in the cross-service tests)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class SentRecord:
    topic: str
    value: bytes
    key: bytes | None
    headers: list[tuple[str, bytes]]


class KafkaRecorder:
    """Stands in for the aiokafka producer the consumer dead-letters with (the real broker path is
    proven in the cross-service tests); records what would be sent."""

    def __init__(self) -> None:
        self.sent: list[SentRecord] = []

    async def send_and_wait(
        self, topic: str, value: bytes, key: bytes | None = None, headers: Sequence[tuple[str, bytes]] = ()
    ) -> None:
        self.sent.append(SentRecord(topic, value, key, list(headers)))

    async def stop(self) -> None:
        return None
