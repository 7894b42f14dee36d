"""Prometheus metrics of every service: the one home of their names (each process has its own registry).

Three kinds (docs/operations.md#alerts names which alert reads which):

- messaging counters, moved by the outbox relay and the idempotent consumer as they work;
- gauges of state (consumer lag, readiness, outbox backlog and the age of its oldest row, parked rows,
  dead letters), kept current by `operations/gauges.py:GaugeRefresher` in the background, whatever
  the dashboard does, with `ledgerline_gauge_age_seconds` saying how old each source's last answer is;
- business counters and histograms, moved after the use case's commit (`uow.after_commit`) or in the
  adapter where the work happens (render time, SMTP time), so a rolled-back attempt is never counted.

Counters whose label values are known are created at zero (`_zero`): a series born at 1 would hide
its first increase from `increase()`, and an alert would miss the first failure.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram

# -- messaging ----------------------------------------------------------------------------------------
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

# -- state, current at every scrape (operations/gauges.py) -------------------------------------------
CONSUMER_LAG = Gauge(
    "ledgerline_consumer_lag", "Messages not yet consumed, per partition", ["service", "topic", "partition"]
)
READY = Gauge("ledgerline_ready", "1 when every readiness check passes", ["service"])
OUTBOX_BACKLOG = Gauge(
    "ledgerline_outbox_backlog", "Outbox rows written and not yet published to Kafka", ["service"]
)
OUTBOX_OLDEST_AGE = Gauge(
    "ledgerline_outbox_oldest_age_seconds",
    "Age of the oldest outbox row not yet published (0 when none is waiting)",
    ["service"],
)
OUTBOX_PARKED_ROWS = Gauge(
    "ledgerline_outbox_parked_rows", "Outbox rows parked aside, never to be published", ["service"]
)
DEAD_LETTERS = Gauge(
    "ledgerline_dead_letters", "Dead letters not replayed (messages a consumer gave up on)", ["service"]
)
GAUGE_AGE = Gauge(
    "ledgerline_gauge_age_seconds",
    "Seconds since the state gauges of a source (database, kafka, readiness) were last refreshed",
    ["service", "source"],
)

# -- the business -------------------------------------------------------------------------------------
DOCUMENT_TYPES = ("invoice", "credit_note", "proforma", "preview")
DOCUMENTS_ISSUED = Counter(
    "ledgerline_documents_issued_total",
    "Documents issued by invoicing and committed (invoices, credit notes, proformas, previews)",
    ["type"],
)
DOCUMENTS_RENDERED = Counter(
    "ledgerline_documents_rendered_total",
    "Document versions rendered and committed (first: version 1; regeneration: a later version)",
    ["type", "version"],
)
RENDER_SECONDS = Histogram(
    "ledgerline_render_seconds",
    "Time to render one document (PDF/A-3, UBL, JSON) in the render pool",
    ["type"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
)
DELIVERY_KINDS = ("document", "export")
DELIVERY_OUTCOMES = ("sent", "pending", "failed", "unconfirmed")
DELIVERY_ATTEMPTS = Counter(
    "ledgerline_delivery_attempts_total",
    "E-mail delivery attempts recorded, by outcome (sent, pending = retry later, failed, unconfirmed)",
    ["kind", "outcome"],
)
SMTP_SECONDS = Histogram(
    "ledgerline_smtp_send_seconds",
    "Time of one SMTP transaction, connection included (delivery latency)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
EXPORT_KINDS = ("excel", "grouped_pdf", "accounting")
EXPORTS = Counter(
    "ledgerline_exports_total",
    "Export jobs finished, by kind and outcome (completed, failed)",
    ["kind", "outcome"],
)
EXPORT_DOCUMENTS = Counter(
    "ledgerline_export_documents_recorded_total",
    "Issued documents recorded in export's read model (what the lists and exports read)",
    ["type"],
)
RUN_MODES = ("preview", "production")
RUN_OUTCOMES = ("completed", "failed")
BILLING_RUNS = Counter(
    "ledgerline_billing_runs_total", "Billing runs finished, by mode and outcome", ["mode", "outcome"]
)
BILLING_RUN_SECONDS = Histogram(
    "ledgerline_billing_run_seconds",
    "Duration of a billing run, from being taken up to completed or failed",
    ["mode", "outcome"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600),
)


def _zero(counter: Counter, *labels: Iterable[str]) -> None:
    """Create every combination of known label values at 0."""
    combos: list[tuple[str, ...]] = [()]
    for values in labels:
        combos = [(*combo, value) for combo in combos for value in values]
    for combo in combos:
        counter.labels(*combo)


_zero(DOCUMENTS_ISSUED, DOCUMENT_TYPES)
_zero(DOCUMENTS_RENDERED, DOCUMENT_TYPES, ("first", "regeneration"))
_zero(DELIVERY_ATTEMPTS, DELIVERY_KINDS, DELIVERY_OUTCOMES)
_zero(EXPORTS, EXPORT_KINDS, ("completed", "failed"))
_zero(BILLING_RUNS, RUN_MODES, RUN_OUTCOMES)
