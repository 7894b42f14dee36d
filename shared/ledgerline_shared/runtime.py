"""One service process: database, Kafka (FastStream subscribers + outbox relay), HTTP, health, dashboard.

Each service builds a `ServiceRuntime`, registers its subscribers and routers, and serves
`runtime.create_app()`. Kafka may be down at start or go away later: the runtime keeps retrying in the
background and `/health/ready` answers 503 until it is back, without a restart.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from faststream.kafka import KafkaBroker
from jinja2 import Environment, PackageLoader, select_autoescape
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_shared import auth
from ledgerline_shared.db import make_engine, make_read_sessionmaker, make_sessionmaker
from ledgerline_shared.http_limits import BodySizeLimit
from ledgerline_shared.messaging.consumer import EventConsumer, Handler, Prepare, TopicStats
from ledgerline_shared.messaging.kafka_security import (
    faststream_security,
    kafka_client_options,
    kafka_security_problem,
)
from ledgerline_shared.messaging.outbox import add_to_outbox
from ledgerline_shared.messaging.relay import AfterPublish, OutboxRelay, make_producer
from ledgerline_shared.messaging.tables import MessagingTables
from ledgerline_shared.observability import context, metrics
from ledgerline_shared.observability.kafka_lag import LagProbe, PartitionLag
from ledgerline_shared.observability.logs import configure_logging
from ledgerline_shared.settings import Settings
from ledgerline_shared.topics import CATALOG
from ledgerline_shared.unit_of_work import EventSink

log = structlog.get_logger(__name__)
T = TypeVar("T", bound=BaseModel)
Check = Callable[[], Awaitable[None]]
_dashboard_env = Environment(
    loader=PackageLoader("ledgerline_shared", "templates"), autoescape=select_autoescape()
)


@dataclass
class DashboardSection:
    title: str
    headers: list[str]
    rows: list[list[Any]]


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
            settings.kafka_bootstrap_servers,
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
        self._tasks: list[asyncio.Task[None]] = []
        self._metrics_server: Any = None  # the internal /metrics listener when metrics_port is set
        self.lag_probe = LagProbe(settings.kafka_bootstrap_servers, **self.kafka_options)
        self._lag_cache: tuple[float, list[PartitionLag], str | None] = (0.0, [], None)
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

    async def emit(
        self, session: AsyncSession, topic: str, key: str | None, data: BaseModel, subject: str | None = None
    ) -> str:
        """Write an event into the outbox inside the caller's transaction."""
        return await add_to_outbox(
            session,
            self.tables.outbox,
            source=f"/ledgerline/{self.name}",
            topic=topic,
            key=key,
            data=data,
            subject=subject,
        )

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
        if self.settings.metrics_port is not None:
            self._metrics_server = start_metrics_server(
                self.settings.metrics_host, self.settings.metrics_port
            )
        if self.hooks.migrate is not None:
            await asyncio.to_thread(self.hooks.migrate, self.database_url)
        for hook in self.hooks.on_start:
            await hook()
        self._tasks.append(asyncio.create_task(self._connect_kafka(), name="kafka-connect"))
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

    # -- health ---------------------------------------------------------------------------
    async def _check_database(self) -> None:
        async with self.read_sessions() as session:
            await session.execute(text("SELECT 1"))

    async def _check_kafka(self) -> None:
        if not self.kafka_connected:
            raise RuntimeError("not connected yet")
        # A bootstrap server must accept a connection now: when the broker stops, this fails at
        # once, whereas the clients only notice on their next request.
        errors = []
        for server in self.settings.kafka_bootstrap_servers.split(","):
            host, _, port = server.strip().rpartition(":")
            try:
                _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 2.0)
                writer.close()
                return
            except (OSError, TimeoutError) as exc:
                errors.append(f"{server}: {exc or type(exc).__name__}")
        raise RuntimeError("; ".join(errors))

    async def readiness(self) -> dict[str, str | None]:
        checks: dict[str, Check] = {"database": self._check_database, "kafka": self._check_kafka}
        checks.update(self.hooks.checks)
        results: dict[str, str | None] = {}
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check(), 3.0)
                results[name] = None
            except Exception as exc:
                results[name] = f"{type(exc).__name__}: {exc}"[:300]
        metrics.READY.labels(self.name).set(0 if any(results.values()) else 1)
        return results

    async def lag(self) -> tuple[list[PartitionLag], str | None]:
        cached_at, rows, error = self._lag_cache
        if time.monotonic() - cached_at < 5:
            return rows, error
        try:
            rows = await asyncio.wait_for(self.lag_probe.measure(self.consumer.subscriptions), 8.0)
            error = None
            for row in rows:
                metrics.CONSUMER_LAG.labels(self.name, row.topic, str(row.partition)).set(row.lag)
        except Exception as exc:
            rows, error = [], f"lag unavailable: {type(exc).__name__}: {exc}"
        self._lag_cache = (time.monotonic(), rows, error)
        return rows, error

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

        @app.get("/health/live", tags=["operations"])
        async def live() -> dict[str, str]:
            return {"status": "alive"}

        @app.get("/health/ready", tags=["operations"])
        async def ready() -> JSONResponse:
            results = await self.readiness()
            failing = {k: v for k, v in results.items() if v}
            code = 503 if failing else 200
            return JSONResponse({"status": "ready" if code == 200 else "not ready", "checks": results}, code)

        @app.get("/metrics", tags=["operations"], include_in_schema=False)
        async def prometheus_metrics(request: Request) -> Response:
            # Open, but never to the outside: on the service port only to a direct loopback client
            # (not through a proxy such as the gateway), and not at all when metrics have their own
            # internal port (docs/security.md).
            if self.settings.metrics_port is not None:
                raise HTTPException(404, detail=f"metrics are served on port {self.settings.metrics_port}")
            if not metrics_client_allowed(request):
                raise HTTPException(403, detail="metrics are served to the loopback only")
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

        @app.get("/asyncapi.json", tags=["operations"])
        async def asyncapi() -> JSONResponse:
            from faststream.specification import AsyncAPI

            spec = AsyncAPI(self.broker, title=f"Ledgerline {self.name}", version="0.1.0")
            return JSONResponse(json.loads(spec.to_specification().to_json()))

        # Operations pages show recipients' addresses and can replay events: admin or ops only.
        operations = Depends(auth.require(auth.OPERATIONS))

        @app.get("/dashboard", response_class=HTMLResponse, tags=["operations"])
        async def dashboard(_p: auth.Principal = operations) -> HTMLResponse:
            return HTMLResponse(await self.render_dashboard())

        @app.post("/api/v1/dead-letters/{dead_letter_id}/replay", status_code=202, tags=["operations"])
        async def replay(dead_letter_id: int, _p: auth.Principal = operations) -> dict[str, Any]:
            return await self.replay_dead_letter(dead_letter_id)

        for router in routers:
            app.include_router(router)
        return app

    async def render_dashboard(self) -> str:
        checks = await self.readiness()
        lag, lag_error = await self.lag()
        dl = self.tables.dead_letters
        async with self.read_sessions() as session:
            dead = (await session.execute(select(dl).order_by(dl.c.id.desc()).limit(50))).mappings().all()
            pending = await session.scalar(
                select(func.count())
                .select_from(self.tables.outbox)
                .where(self.tables.outbox.c.sent_at.is_(None))
            )
            po = self.tables.parked_outbox
            parked = (
                (await session.execute(select(po).order_by(po.c.parked_at.desc(), po.c.id.desc()).limit(50)))
                .mappings()
                .all()
            )
            parked_count = await session.scalar(select(func.count()).select_from(po))
        sections = [await section() for section in self.hooks.dashboard]
        return _dashboard_env.get_template("dashboard.html").render(
            service=self.name,
            ready=not any(checks.values()),
            started_at=self.started_at.isoformat(timespec="seconds"),
            checks=checks,
            relay_published=self.relay.published,
            relay_error=self.relay.last_error,
            outbox_pending=pending,
            parked_outbox=parked,
            parked_count=parked_count,
            # Every subscription, even before its first message: an idle topic is information too.
            topics=sorted(
                {
                    topic: self.consumer.stats.topics.get(topic, TopicStats())
                    for topic, _ in self.consumer.subscriptions
                }.items()
            ),
            lag=lag,
            lag_error=lag_error,
            dead_letters=dead,
            recent=list(self.consumer.stats.recent),
            extra_sections=sections,
        )

    async def replay_dead_letter(self, dead_letter_id: int) -> dict[str, Any]:
        """Hand a dead letter again to the consumer that failed it (same ce_id: it was never applied).

        In process, not through Kafka: a service's principal may read its input topics but not write
        them (docs/security.md), and only the consumer that failed sees the message again. A new
        failure dead-letters it again, as from Kafka. Runs in the background: the answer is 202.
        """
        dl = self.tables.dead_letters
        async with self.read_sessions() as session:
            row = (await session.execute(select(dl).where(dl.c.id == dead_letter_id))).mappings().first()
        if row is None:
            raise HTTPException(404, detail=f"no dead letter {dead_letter_id}")
        subscription = self.handlers.get(row["topic"])
        if subscription is None:
            raise HTTPException(409, detail=f"this service no longer consumes {row['topic']}")
        record = _StoredRecord(
            topic=row["topic"],
            key=row["key"].encode() if row["key"] is not None else None,
            value=row["payload"].encode(),
            headers=[(k, v.encode()) for k, v in json.loads(row["headers"]).items()],
            partition=row["partition"],
            offset=row["offset"],
        )
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(dl).where(dl.c.id == dead_letter_id).values(replayed_at=dt.datetime.now(dt.UTC))
            )
        model = CATALOG[row["topic"]].payload
        task = asyncio.create_task(
            self.consumer.handle_record(
                record, model, subscription.handler, subscription.consumer_name, subscription.prepare
            ),
            name=f"replay-{dead_letter_id}",
        )
        self._tasks.append(task)
        return {"replayed": dead_letter_id, "topic": row["topic"]}


@dataclass(frozen=True)
class _StoredRecord:
    """A dead letter as the consumer reads a Kafka record."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    partition: int | None
    offset: int | None


_PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def startup_problem(settings: Settings) -> str | None:
    """Why a service must not start (no usable token key, Kafka credentials missing), in one line."""
    return auth.startup_problem(settings) or kafka_security_problem(settings)


def metrics_client_allowed(request: Request) -> bool:
    """A direct loopback client: a request relayed by a proxy on this host carries its headers."""
    if request.client is None or any(h in request.headers for h in _PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


def start_metrics_server(host: str, port: int) -> Any:
    """/metrics alone on an internal port (prometheus_client's own threaded server)."""
    from prometheus_client import start_http_server

    server, _thread = start_http_server(port, addr=host)
    log.info("metrics listening", host=host, port=server.server_port)
    return server


def serve(app: FastAPI, port: int, host: str = "127.0.0.1") -> None:
    import uvicorn

    runtime = getattr(app.state, "runtime", None)
    if runtime is not None:
        problem = startup_problem(runtime.settings)
        if problem is not None:
            print(f"ledgerline-{runtime.name}: refusing to start: {problem}", file=sys.stderr)
            raise SystemExit(2)

    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


__all__ = ["DashboardSection", "ServiceRuntime", "serve"]
