"""Prometheus metrics shared by every service (each process has its own registry)."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PUBLISHED = Counter(
    "ledgerline_events_published_total", "Outbox events published to Kafka", ["service", "topic"]
)
OUTBOX_PARKED = Counter(
    "ledgerline_outbox_parked_total",
    "Outbox rows that can never be published (too large, not serialisable), parked aside",
    ["service", "topic"],
)
MESSAGES_HANDLED = Counter(
    "ledgerline_messages_handled_total",
    "Kafka messages handled, by outcome (ok, duplicate, retried, dead_lettered)",
    ["service", "topic", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "ledgerline_handler_seconds", "Time spent handling one Kafka message", ["service", "topic"]
)
CONSUMER_LAG = Gauge(
    "ledgerline_consumer_lag", "Messages not yet consumed, per partition", ["service", "topic", "partition"]
)
READY = Gauge("ledgerline_ready", "1 when every readiness check passes", ["service"])
