"""Traces (issue 13 item 4): W3C Trace Context through the outbox, Kafka headers, the consumer, HTTP,
the logs, and the OTLP exporter (to a receiver on the loopback, and off unless configured).

The whole journey through the real broker and the four service processes is tests/test_traces_e2e.py.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from contextlib import redirect_stdout
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import structlog
from fastapi import FastAPI
from otlp_receiver import OtlpReceiver
from pydantic import BaseModel
from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ledgerline_shared.cloudevents import decode_headers, parse_envelope
from ledgerline_shared.db import make_engine, make_sessionmaker
from ledgerline_shared.messaging.consumer import EventConsumer, Inbound
from ledgerline_shared.messaging.outbox import outbox_row
from ledgerline_shared.messaging.tables import define_messaging_tables
from ledgerline_shared.observability import tracing
from ledgerline_shared.observability.logs import configure_logging
from ledgerline_shared.unit_of_work import EventSink, UnitOfWork

metadata = MetaData()
tables = define_messaging_tables(metadata)
SINK = EventSink(tables.outbox, "/ledgerline/test")
# A valid W3C traceparent from another system (version 00, sampled).
REMOTE_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
REMOTE_PARENT = f"00-{REMOTE_TRACE}-00f067aa0ba902b7-01"


class Ping(BaseModel):
    text: str


def _record(row: dict[str, Any], topic: str = "test.ping", offset: int = 0) -> Any:
    """A Kafka record as the relay would publish `row` (its stored headers, its payload)."""
    headers = [(k, v.encode()) for k, v in json.loads(row["headers"])]
    return SimpleNamespace(
        topic=topic,
        partition=0,
        offset=offset,
        key=(row["key"] or "").encode(),
        value=row["payload"].encode(),
        headers=headers,
    )


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'tracing.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


def _consumer(engine: AsyncEngine) -> EventConsumer:
    def no_producer() -> Any:
        raise AssertionError("nothing is dead-lettered here")

    return EventConsumer(
        service="test", sessions=make_sessionmaker(engine), tables=tables, producer=no_producer, retries=1
    )


def test_an_event_carries_the_trace_of_the_transaction_that_emitted_it() -> None:
    with tracing.span("issue invoice") as emitting:
        row = outbox_row(source="/ledgerline/test", topic="test.ping", key="F1", data=Ping(text="x"))
    headers = dict(json.loads(row["headers"]))
    ids = emitting.get_span_context()
    assert headers["ce_traceparent"].startswith(f"00-{ids.trace_id:032x}-{ids.span_id:016x}-")
    envelope = parse_envelope(headers)
    assert envelope.traceparent == headers["ce_traceparent"]
    assert envelope.trace_carrier() == {"traceparent": headers["ce_traceparent"]}
    # Outside any span (a relay, a scheduler with no trace): the event carries no trace header at all.
    bare = outbox_row(source="/ledgerline/test", topic="test.ping", key="F1", data=Ping(text="x"))
    assert not any(name.startswith("ce_trace") for name, _ in json.loads(bare["headers"]))
    assert parse_envelope(dict(json.loads(bare["headers"]))).trace_carrier() == {}


def test_tracestate_travels_with_traceparent() -> None:
    carrier = {"traceparent": REMOTE_PARENT, "tracestate": "vendor=abc"}
    with tracing.span("handler", parent=carrier):
        row = outbox_row(source="/ledgerline/test", topic="test.ping", key="k", data=Ping(text="x"))
    headers = parse_envelope(dict(json.loads(row["headers"])))
    assert headers.traceparent is not None and headers.traceparent.split("-")[1] == REMOTE_TRACE
    assert headers.tracestate == "vendor=abc"


async def test_the_consumer_continues_the_events_trace_and_its_events_follow(engine: AsyncEngine) -> None:
    """The handler runs in a CONSUMER span, child of the incoming traceparent; what it emits carries
    the same trace id; its log lines carry it too."""
    with tracing.span("issue invoice") as emitting:
        row = outbox_row(source="/ledgerline/test", topic="test.ping", key="F7", data=Ping(text="x"))
    trace_id = f"{emitting.get_span_context().trace_id:032x}"
    seen: dict[str, Any] = {}
    log = structlog.get_logger("test")

    async def handler(inbound: Inbound[Ping], session: AsyncSession) -> None:
        seen["trace_id"] = tracing.current_trace_id()
        seen["span"] = tracing.current_ids()
        uow = UnitOfWork.joining(session, SINK, inbound.after_commit)
        uow.emit("test.pong", inbound.key, inbound.data)
        await uow.commit()
        log.info("handled in a trace", key=inbound.key)

    out = io.StringIO()
    configure_logging("test")
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(out), cache_logger_on_first_use=False)
    await _consumer(engine).handle_record(_record(row), Ping, handler, "test.ping")
    assert seen["trace_id"] == trace_id
    assert seen["span"][1] != f"{emitting.get_span_context().span_id:016x}"  # its own span, a child
    async with engine.connect() as connection:
        emitted = (await connection.execute(select(tables.outbox.c.headers))).scalars().all()
    assert len(emitted) == 1
    pong = parse_envelope(dict(json.loads(emitted[0])))
    assert pong.traceparent is not None and pong.traceparent.split("-")[1] == trace_id
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    handled = [line for line in lines if line.get("event") == "handled in a trace"]
    assert handled and handled[0]["trace_id"] == trace_id and handled[0]["span_id"] == seen["span"][1]
    assert handled[0]["service"] == "test"


async def test_a_malformed_traceparent_starts_a_new_trace_and_never_refuses_the_event(
    engine: AsyncEngine,
) -> None:
    row = outbox_row(source="/ledgerline/test", topic="test.ping", key="F8", data=Ping(text="x"))
    record = _record(row)
    record.headers.append(("ce_traceparent", b"00-not-a-trace-id-01"))
    seen: list[str | None] = []

    async def handler(inbound: Inbound[Ping], _session: AsyncSession) -> None:
        seen.append(tracing.current_trace_id())

    consumer = _consumer(engine)
    await consumer.handle_record(record, Ping, handler, "test.ping")
    assert consumer.stats.on("test.ping").handled == 1
    assert seen and seen[0] is not None and len(seen[0]) == 32  # a fresh trace of its own
    assert decode_headers(record.headers)["ce_traceparent"] == "00-not-a-trace-id-01"


async def test_an_http_request_continues_the_callers_traceparent() -> None:
    app = FastAPI()
    app.add_middleware(tracing.TraceRequests)
    seen: list[str | None] = []

    @app.get("/things/{number}")
    async def thing(number: str) -> dict[str, str]:
        seen.append(tracing.current_trace_id())
        return {"number": number}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.get("/things/F1", headers={"traceparent": REMOTE_PARENT})
        assert answer.status_code == 200
        await client.get("/things/F2")  # no traceparent: a new trace
    assert seen[0] == REMOTE_TRACE
    assert seen[1] is not None and seen[1] != REMOTE_TRACE


async def test_the_back_office_sends_the_current_trace_to_the_apis() -> None:
    from ledgerline_backoffice.adapters.api_client import ApiClient
    from ledgerline_backoffice.config import BackofficeSettings

    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    api = ApiClient(BackofficeSettings(jwt_secret="x" * 40), httpx.MockTransport(answer))
    try:
        with tracing.span("page", parent={"traceparent": REMOTE_PARENT}):
            await api.call("invoicing", "GET", "/api/v1/invoices", "token")
            await (await api.open_stream("export", "/api/v1/exports/1/file", "token")).aclose()
        await api.call("invoicing", "GET", "/api/v1/invoices", "token")  # outside any span
    finally:
        await api.aclose()
    assert [r.headers["traceparent"].split("-")[1] for r in sent[:2]] == [REMOTE_TRACE, REMOTE_TRACE]
    assert "traceparent" not in sent[2].headers


def test_exporting_is_off_unless_configured() -> None:
    assert tracing.otlp_traces_endpoint(None, env={}) is None
    assert tracing.otlp_traces_endpoint("", env={"OTEL_EXPORTER_OTLP_ENDPOINT": " "}) is None
    assert tracing.otlp_traces_endpoint("http://c:4318", env={}) == "http://c:4318/v1/traces"
    assert tracing.otlp_traces_endpoint(None, env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}) == (
        "http://c:4318/v1/traces"
    )
    per_signal = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/custom"}
    assert tracing.otlp_traces_endpoint(None, env=per_signal) == "http://c:4318/custom"
    # Ours wins over the standard variables.
    both = {**per_signal, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://other:4318"}
    assert tracing.otlp_traces_endpoint("http://c:4318", env=both) == "http://c:4318/v1/traces"


async def test_spans_reach_an_otlp_receiver_with_their_trace_id(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    receiver = OtlpReceiver().start()
    try:
        assert tracing.configure_tracing("test", None) is None  # nothing configured: no exporter
        endpoint = tracing.configure_tracing("test", receiver.endpoint)
        assert endpoint == receiver.endpoint + "/v1/traces"
        with tracing.span("issue invoice", parent={"traceparent": REMOTE_PARENT}):
            with tracing.span("render"):
                pass
        await asyncio.to_thread(tracing.flush)
        deadline = time.monotonic() + 10
        while len(receiver.of_trace(REMOTE_TRACE)) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        spans = {s.name: s for s in receiver.of_trace(REMOTE_TRACE)}
        assert set(spans) == {"issue invoice", "render"}
        assert spans["issue invoice"].parent_span_id == "00f067aa0ba902b7"
        assert spans["render"].parent_span_id == spans["issue invoice"].span_id
    finally:
        tracing.stop_exporting(receiver.endpoint)
        receiver.stop()


def test_logs_outside_a_span_carry_no_trace_id() -> None:
    out = io.StringIO()
    configure_logging("test")
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(out), cache_logger_on_first_use=False)
    with redirect_stdout(out):
        structlog.get_logger("test").info("no trace here")
    line = json.loads(out.getvalue().splitlines()[-1])
    assert "trace_id" not in line and line["event"] == "no trace here"
