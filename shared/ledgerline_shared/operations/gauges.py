"""The state gauges, current at every scrape: readiness, consumer lag, outbox backlog and its age,
parked rows, dead letters.

A background refresher rather than a prometheus_client custom Collector, because:

- a Collector runs inside the scrape (`generate_latest`, synchronous) while the database and Kafka
  clients are asyncio clients of the service's event loop: the scrape would have to block the loop,
  or open its own connections per scrape, to reach them;
- a scrape must never hang on a dead broker or database. Here /metrics only reads memory, always at
  once; each source is asked in the background with a timeout (`timeout_s`), and when it does not
  answer its gauges keep their last value and `ledgerline_gauge_age_seconds{source}` (computed at
  scrape time) grows, so a stale number is visible as such and can be alerted on;
- one refresher per process asks every `period_s` (10 s by default, LEDGERLINE_METRICS_REFRESH_S),
  however many Prometheus servers scrape and however often: the cost is bounded by us, not by them.

The SQL is in `dashboard_queries.py:backlog`, the Kafka reads in `observability/kafka_lag.py`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable

import structlog

from ledgerline_shared.observability import metrics
from ledgerline_shared.observability.kafka_lag import PartitionLag
from ledgerline_shared.operations.dashboard_queries import Backlog

log = structlog.get_logger(__name__)

SOURCES = ("database", "kafka", "readiness")

BacklogProbe = Callable[[], Awaitable[Backlog]]
LagProbe = Callable[[], Awaitable[tuple[list[PartitionLag], str | None]]]
ReadinessProbe = Callable[[], Awaitable[dict[str, str | None]]]


class GaugeRefresher:
    def __init__(
        self,
        service: str,
        *,
        backlog: BacklogProbe,
        lag: LagProbe,
        readiness: ReadinessProbe,
        period_s: float = 10.0,
        timeout_s: float = 8.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        self._probes: dict[str, Callable[[], Awaitable[None]]] = {
            "database": self._database,
            "kafka": self._kafka,
            "readiness": self._readiness,
        }
        self._backlog, self._lag, self._readiness_probe = backlog, lag, readiness
        self.period_s = period_s
        self.timeout_s = timeout_s
        self._clock = clock
        started = clock()
        # Until a source first answers, its age counts from the start of the process.
        self.refreshed_at: dict[str, float] = dict.fromkeys(SOURCES, started)
        self.errors: dict[str, str | None] = dict.fromkeys(SOURCES)
        for source in SOURCES:
            metrics.GAUGE_AGE.labels(service, source).set_function(self._age_of(source))

    def _age_of(self, source: str) -> Callable[[], float]:
        return lambda: max(0.0, self._clock() - self.refreshed_at[source])

    async def run(self) -> None:
        """The background job: refresh every source, then wait a period; forever."""
        while True:
            await self.refresh_once()
            await asyncio.sleep(self.period_s)

    async def refresh_once(self) -> dict[str, str | None]:
        """Ask every source at once, each bounded by the timeout; the errors by source (None: fresh)."""
        await asyncio.gather(*(self._refresh(source) for source in SOURCES))
        return dict(self.errors)

    async def _refresh(self, source: str) -> None:
        try:
            await asyncio.wait_for(self._probes[source](), self.timeout_s)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:300] if str(exc) else type(exc).__name__
            if self.errors[source] != error:  # once per change, not every period
                log.warning("gauges not refreshed", source=source, error=error)
            self.errors[source] = error
            if source == "readiness":  # a readiness that cannot answer in time is not ready
                metrics.READY.labels(self.service).set(0)
            return
        self.errors[source] = None
        self.refreshed_at[source] = self._clock()

    async def _database(self) -> None:
        state = await self._backlog()
        metrics.OUTBOX_BACKLOG.labels(self.service).set(state.outbox_pending)
        age = 0.0
        if state.oldest_pending_at is not None:
            age = max(0.0, (dt.datetime.now(dt.UTC) - state.oldest_pending_at).total_seconds())
        metrics.OUTBOX_OLDEST_AGE.labels(self.service).set(age)
        metrics.OUTBOX_PARKED_ROWS.labels(self.service).set(state.parked_count)
        metrics.DEAD_LETTERS.labels(self.service).set(state.dead_letters_open)

    async def _kafka(self) -> None:
        rows, error = await self._lag()
        if error is not None:
            raise RuntimeError(error)
        for row in rows:
            metrics.CONSUMER_LAG.labels(self.service, row.topic, str(row.partition)).set(row.lag)

    async def _readiness(self) -> None:
        await self._readiness_probe()  # run_checks sets ledgerline_ready itself
