"""One service process: its database, Kafka (FastStream subscribers + outbox relay) and HTTP app.

Each service builds a `ServiceRuntime`, registers its subscribers and routers, and serves
`runtime.create_app()`. Kafka may be down at start or go away later: the runtime keeps retrying in the
background and `/health/ready` answers 503 until it is back, without a restart.

This module is the process's lifecycle; what the process serves about itself lives in `operations/`:
health checks (`health.py`), the dashboard (`dashboard.py`, its SQL in `dashboard_queries.py`), dead
letters (`dead_letters.py`) and the other operations endpoints (`routes.py`). Use cases write events
through their unit of work (`unit_of_work.py`), not through the runtime.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from faststream.kafka import KafkaBroker
from pydantic import BaseModel

from ledgerline_shared import auth
from ledgerline_shared.db import make_engine, make_read_sessionmaker, make_sessionmaker
from ledgerline_shared.http_limits import BodySizeLimit
from ledgerline_shared.messaging.consumer import EventConsumer, Handler, Prepare
from ledgerline_shared.messaging.kafka_security import (
    bootstrap_servers,
    faststream_security,
    kafka_client_options,
    kafka_security_problem,
)
from ledgerline_shared.messaging.relay import AfterPublish, OutboxRelay, make_producer
from ledgerline_shared.messaging.tables import MessagingTables
from ledgerline_shared.observability import context, tracing
from ledgerline_shared.observability.kafka_lag import LagProbe, PartitionLag, RecentLag
from ledgerline_shared.observability.logs import configure_logging
from ledgerline_shared.operations import dead_letters, health
from ledgerline_shared.operations.dashboard import DashboardSection, render_dashboard
from ledgerline_shared.operations.dashboard_queries import backlog
from ledgerline_shared.operations.gauges import GaugeRefresher
from ledgerline_shared.operations.health import Check
from ledgerline_shared.operations.routes import (
    metrics_client_allowed,
    operations_router,
    start_metrics_server,
)
from ledgerline_shared.settings import Settings
from ledgerline_shared.topics import CATALOG
from ledgerline_shared.unit_of_work import EventSink

log = structlog.get_logger(__name__)
T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class Subscription:
    handler: Any
    consumer_name: str
    prepare: Any = None


@dataclass
class RuntimeHooks:
    """Service-specific parts the runtime runs at the right moment."""

    migrate: Callable[[str], None] | None = None  # runs Alembic upgrade head on the URL
    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    on_start: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    checks: dict[str, Check] = field(default_factory=dict)
    dashboard: list[Callable[[], Awaitable[DashboardSection]]] = field(default_factory=list)


class ServiceRuntime:
    def __init__(
        self,
        name: str,
        tables: MessagingTables,
        settings: Settings,
        *,
        publishes: Sequence[str] = (),
        after_publish: AfterPublish | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.tables = tables
        self.database_url = settings.database_url(name)
        self.engine = make_engine(self.database_url)
        self.sessions = make_sessionmaker(self.engine)
        self.read_sessions = make_read_sessionmaker(self.engine)
        self.kafka_options = kafka_client_options(settings)  # this service's own Kafka principal
        self.broker = KafkaBroker(
            bootstrap_servers(settings),  # a cluster's list, split: FastStream takes a str as one server
            security=faststream_security(settings),
            client_id=f"ledgerline-{name}",
            request_timeout_ms=10000,
            logger=None,
        )
        # aiokafka clients belong to an event loop: the producer is made in start().
        self.producer: AIOKafkaProducer | None = None
        self.relay = OutboxRelay(
            self.sessions,
            tables.outbox,
            self.kafka_producer,
            parked=tables.parked_outbox,
            service=name,
            poll_s=settings.outbox_poll_s,
            after_publish=after_publish,
            read_sessions=self.read_sessions,
            engine=self.engine,
        )
        self.consumer = EventConsumer(
            service=name,
            sessions=self.sessions,
            tables=tables,
            producer=self.kafka_producer,
            retries=settings.consumer_retries,
            backoff_s=settings.consumer_backoff_s,
            retry_budget_s=settings.consumer_retry_budget_s,
            max_backoff_s=settings.consumer_max_backoff_s,
            on_committed=self.relay.wake,
            read_sessions=self.read_sessions,
        )
        self.hooks = RuntimeHooks()
        # Routes accepting bodies over settings.http_max_body_bytes, by exact path (http_limits).
        self.body_limits: dict[str, int] = {}
        self.handlers: dict[str, Subscription] = {}  # topic -> what subscribe() registered (tests use it)
        self.kafka_connected = False
        self.started_at = dt.datetime.now(dt.UTC)
        self._tasks: list[asyncio.Task[Any]] = []
        self._metrics_server: Any = None  # the internal /metrics listener when metrics_port is set
        self.lag_probe = LagProbe(settings.kafka_bootstrap_servers, **self.kafka_options)
        self._recent_lag = RecentLag(self.lag_probe, name)
        self.gauges = GaugeRefresher(
            name,
            backlog=lambda: backlog(self.read_sessions, tables),
            lag=self.lag,
            readiness=self.readiness,
            period_s=settings.metrics_refresh_s,
        )
        for topic in publishes:  # declared for the AsyncAPI document only
            spec = CATALOG[topic]
            self.broker.publisher(topic, title=f"{name}:{topic}", schema=spec.payload)

    # -- messaging -----------------------------------------------------------------------
    def kafka_producer(self) -> AIOKafkaProducer:
        if self.producer is None:
            raise RuntimeError("Kafka is not connected yet")
        return self.producer

    def subscribe(
        self,
        topic: str,
        handler: Handler[T],
        *,
        name: str | None = None,
        prepare: Prepare[T] | None = None,
        instances: int = 1,
    ) -> None:
        model: type[T] = CATALOG[topic].payload  # type: ignore[assignment]
        self.consumer.subscribe(
            self.broker, topic, model, handler, name=name, prepare=prepare, instances=instances
        )
        self.handlers[topic] = Subscription(handler, f"{self.name}.{name or topic}", prepare)

    @property
    def event_sink(self) -> EventSink:
        """Where this service's units of work write their events (its outbox, its source)."""
        return EventSink(self.tables.outbox, f"/ledgerline/{self.name}")

    # -- lifecycle ----------------------------------------------------------------------
    async def _connect_kafka(self) -> None:
        """Start the relay's producer, then the subscribers; retry until Kafka answers."""
        while True:
            # An aiokafka producer whose start failed cannot be started again: a new one each try.
            producer = make_producer(
                self.settings.kafka_bootstrap_servers, f"ledgerline-{self.name}-relay", **self.kafka_options
            )
            try:
                await producer.start()
                self.producer = producer
                break
            except Exception as exc:
                log.warning("kafka not reachable yet (producer)", error=str(exc))
                await producer.stop()
                await asyncio.sleep(2)
        while True:
            try:
                await self.broker.start()
                break
            except Exception as exc:
                log.warning("kafka not reachable yet (subscribers)", error=str(exc))
                try:
                    await self.broker.stop()
                except Exception:
                    pass
                await asyncio.sleep(2)
        try:
            await self.lag_probe.start()
        except Exception as exc:  # the dashboard says so; messaging does not depend on it
            log.warning("lag probe not started", error=str(exc))
        self.kafka_connected = True
        self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        log.info("kafka connected", subscriptions=self.consumer.subscriptions)

    async def start(self) -> None:
        problem = startup_problem(self.settings)
        if problem is not None:  # serve() says it in one line before getting here; this guards the rest
            raise RuntimeError(problem)
        configure_logging(self.name, self.settings.log_level)
        exporting_to = tracing.configure_tracing(self.name, self.settings.otlp_endpoint)
        if exporting_to is not None:
            log.info("exporting traces", endpoint=exporting_to)
        if self.settings.metrics_port is not None:
            self._metrics_server = start_metrics_server(
                self.settings.metrics_host, self.settings.metrics_port
            )
        if self.hooks.migrate is not None:
            await asyncio.to_thread(self.hooks.migrate, self.database_url)
        for hook in self.hooks.on_start:
            await hook()
        self._tasks.append(asyncio.create_task(self._connect_kafka(), name="kafka-connect"))
        self._tasks.append(asyncio.create_task(self.gauges.run(), name="gauges"))  # current at every scrape
        for job in self.hooks.background:
            self._tasks.append(asyncio.create_task(job(), name=getattr(job, "__name__", "job")))

    async def stop(self) -> None:
        if self._metrics_server is not None:
            await asyncio.to_thread(self._metrics_server.shutdown)
            self._metrics_server.server_close()
            self._metrics_server = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for hook in self.hooks.on_stop:
            await hook()
        try:
            await self.broker.stop()
        except Exception:
            pass
        await self.lag_probe.stop()
        if self.producer is not None:
            await self.producer.stop()
        await self.engine.dispose()
        await asyncio.to_thread(tracing.flush)  # the last spans reach the collector, if one is set

    def track(self, task: asyncio.Task[Any]) -> None:
        """A background task of this process: cancelled and awaited by stop()."""
        self._tasks.append(task)

    # -- what the process serves about itself (operations/) -------------------------------
    async def readiness(self) -> dict[str, str | None]:
        checks: dict[str, Check] = {
            "database": health.database_check(self.read_sessions),
            "kafka": health.kafka_check(self.settings.kafka_bootstrap_servers, lambda: self.kafka_connected),
        }
        checks.update(self.hooks.checks)
        return await health.run_checks(self.name, checks)

    async def lag(self) -> tuple[list[PartitionLag], str | None]:
        return await self._recent_lag.measure(self.consumer.subscriptions)

    async def render_dashboard(self) -> str:
        return await render_dashboard(self)

    async def replay_dead_letter(self, dead_letter_id: int) -> dict[str, Any]:
        return await dead_letters.replay_dead_letter(self, dead_letter_id)

    # -- HTTP ----------------------------------------------------------------------------
    def create_app(self, *routers: APIRouter, title: str, description: str = "") -> FastAPI:
        @asynccontextmanager
        async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
            await self.start()
            try:
                yield
            finally:
                await self.stop()

        app = FastAPI(title=title, description=description, version="0.1.0", lifespan=lifespan)
        app.state.runtime = self
        app.add_middleware(
            BodySizeLimit, default=self.settings.http_max_body_bytes, per_path=self.body_limits
        )

        @app.middleware("http")
        async def correlation(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            cid = request.headers.get("x-correlation-id")
            if cid:
                context.bind(correlation_id=cid[:100])
            return await call_next(request)

        # Outermost: every request is a span continuing the caller's traceparent (observability/tracing).
        app.add_middleware(tracing.TraceRequests)

        app.include_router(health.health_router(self.readiness))
        app.include_router(operations_router(self))
        for router in routers:
            app.include_router(router)
        return app


def startup_problem(settings: Settings) -> str | None:
    """Why a service must not start (no usable token key, Kafka credentials missing), in one line."""
    return auth.startup_problem(settings) or kafka_security_problem(settings)


def serve(app: FastAPI, port: int, host: str = "127.0.0.1") -> None:
    import uvicorn

    runtime = getattr(app.state, "runtime", None)
    if runtime is not None:
        problem = startup_problem(runtime.settings)
        if problem is not None:
            print(f"ledgerline-{runtime.name}: refusing to start: {problem}", file=sys.stderr)
            raise SystemExit(2)

    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


__all__ = [
    "DashboardSection",
    "RuntimeHooks",
    "ServiceRuntime",
    "Subscription",
    "metrics_client_allowed",
    "serve",
    "start_metrics_server",
    "startup_problem",
]
