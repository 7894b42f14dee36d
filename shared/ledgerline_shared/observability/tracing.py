"""Traces across the services: OpenTelemetry spans, W3C Trace Context on Kafka and HTTP.

What travels:
- on Kafka, the CloudEvents distributed-tracing extension: `ce_traceparent` and `ce_tracestate`
  headers, captured by `outbox_row` when the event is queued (the trace of the transaction that
  emitted it, not the relay's), continued by the consumer (`consumer_span`);
- on HTTP, the `traceparent` and `tracestate` headers: continued by `TraceRequests` (every service's
  app and the back office), sent by the back office's API client (`inject`).

Spans are made per message, per request and per use case, never per call record. Without an OTLP
endpoint (the default) spans are made only to give trace ids to the logs and the events: nothing is
exported and nothing goes on the network. `LEDGERLINE_OTLP_ENDPOINT` or the standard
`OTEL_EXPORTER_OTLP_ENDPOINT` (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) switches the OTLP/HTTP exporter
on (docs/operations.md#traces).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
_propagator = TraceContextTextMapPropagator()
_lock = threading.Lock()
_provider: TracerProvider | None = None
_exporting: dict[str, SpanProcessor] = {}  # endpoint -> its processor (once per process)
_tracer: trace.Tracer | None = None


def _provider_for(service: str) -> TracerProvider:
    """The process's tracer provider (one per process, made by the first service that starts)."""
    global _provider, _tracer
    with _lock:
        if _provider is None:
            _provider = TracerProvider(resource=Resource.create({"service.name": f"ledgerline-{service}"}))
            trace.set_tracer_provider(_provider)
            _tracer = _provider.get_tracer("ledgerline")
        return _provider


def otlp_traces_endpoint(configured: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """Where spans are posted (OTLP/HTTP), or None: exporting is off.

    `configured` (LEDGERLINE_OTLP_ENDPOINT) wins; then the standard variables. A base URL gets
    `/v1/traces` appended, as OTEL_EXPORTER_OTLP_ENDPOINT does; the per-signal variable is used as is.
    """
    env = os.environ if env is None else env
    base = configured or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not configured and env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"].strip() or None
    if not base or not base.strip():
        return None
    base = base.strip().rstrip("/")
    return base if base.endswith("/v1/traces") else base + "/v1/traces"


def configure_tracing(service: str, otlp_endpoint: str | None = None) -> str | None:
    """Make this process's spans (always) and export them when an endpoint is configured.

    Returns the endpoint spans are exported to, or None. Idempotent: a second service started in the
    same process (tests) shares the provider, and an endpoint gets one exporter.
    """
    provider = _provider_for(service)
    endpoint = otlp_traces_endpoint(otlp_endpoint)
    if endpoint is None:
        return None
    with _lock:
        if endpoint not in _exporting:
            # Imported only when switched on: without it no exporter code runs at all.
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint), schedule_delay_millis=1000)
            provider.add_span_processor(processor)
            _exporting[endpoint] = processor
    return endpoint


def flush(timeout_ms: int = 5000) -> None:
    """Send the spans still queued (at shutdown); a no-op when nothing is exported."""
    for processor in list(_exporting.values()):
        processor.force_flush(timeout_ms)


def stop_exporting(otlp_endpoint: str) -> None:
    """Stop exporting to that endpoint (its queued spans are sent first); tests, after their receiver."""
    endpoint = otlp_traces_endpoint(otlp_endpoint, env={})
    with _lock:
        processor = _exporting.pop(endpoint or "", None)
    if processor is not None:
        processor.shutdown()  # a processor shut down ignores the spans that still end


def _get_tracer() -> trace.Tracer:
    if _tracer is None:  # a use case run outside a service process (unit tests): spans still have ids
        _provider_for("unconfigured")
    assert _tracer is not None
    return _tracer


# -- the context on the wire ----------------------------------------------------------------------


def inject(carrier: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """`traceparent` (and `tracestate`) of the current span, added to `carrier`; {} without a span."""
    out: dict[str, str] = {} if carrier is None else dict(carrier)
    _propagator.inject(out)
    if carrier is not None:
        carrier.update(out)
    return out


def current_carrier() -> dict[str, str]:
    """The current trace context as W3C headers (to store with work done later)."""
    return inject()


def extract(carrier: Mapping[str, str] | None) -> otel_context.Context:
    """The remote parent named by a W3C carrier; an empty context when it names none (or is malformed)."""
    return _propagator.extract(dict(carrier or {}))


def current_trace_id() -> str | None:
    """The current trace id, 32 hex digits, or None outside any span."""
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the current span in hex, or None outside any span (one lookup, for logs)."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")


# -- spans ------------------------------------------------------------------------------------------


@contextmanager
def span(
    name: str,
    *,
    parent: Mapping[str, str] | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span]:
    """A span, current inside the block: a child of the current span, or of `parent` (a W3C carrier
    stored with the work, e.g. a delivery's) when given. An exception marks it as an error."""
    context = extract(parent) if parent else None
    with _get_tracer().start_as_current_span(
        name, context=context, kind=kind, attributes=dict(attributes or {}), record_exception=True
    ) as current:
        yield current


@contextmanager
def consumer_span(
    topic: str, carrier: Mapping[str, str], attributes: Mapping[str, Any] | None = None
) -> Iterator[Span]:
    """Handling one Kafka message: a CONSUMER span, child of the trace the event carried (if any)."""
    attrs = {"messaging.system": "kafka", "messaging.destination.name": topic, **(attributes or {})}
    with _get_tracer().start_as_current_span(
        f"process {topic}", context=extract(carrier), kind=SpanKind.CONSUMER, attributes=attrs
    ) as current:
        yield current


@contextmanager
def new_trace(name: str, attributes: Mapping[str, Any] | None = None) -> Iterator[Span]:
    """A new trace (a root span) linked to the current span: one item of a batch gets its own trace.

    A billing run issues thousands of invoices; each invoice's journey (issued, rendered, delivered,
    exported) is its own small trace, linked to the run's span rather than buried in it.
    """
    current = trace.get_current_span().get_span_context()
    links = [Link(current)] if current.is_valid else []
    with _get_tracer().start_as_current_span(
        name, context=otel_context.Context(), links=links, attributes=dict(attributes or {})
    ) as root:
        yield root


@contextmanager
def within(carrier: Mapping[str, str]) -> Iterator[None]:
    """Make the context a carrier names current (a log line written later for the same work)."""
    token = otel_context.attach(extract(carrier))
    try:
        yield
    finally:
        otel_context.detach(token)


# -- HTTP -------------------------------------------------------------------------------------------


class TraceRequests:
    """ASGI middleware: each HTTP request is a SERVER span continuing the caller's `traceparent`.

    The span is named after the route template once routing chose one (`GET /api/v1/invoices/{number}`),
    so the name never carries a document number or an id.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in scope.get("headers", [])
            if k in (b"traceparent", b"tracestate")
        }
        method = scope.get("method", "GET")
        status: dict[str, int] = {}

        async def send_status(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        with _get_tracer().start_as_current_span(
            method,
            context=extract(headers),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method},
        ) as current:
            try:
                await self.app(scope, receive, send_status)
            finally:
                route = scope.get("route")
                template = getattr(route, "path", None)
                if template:
                    current.update_name(f"{method} {template}")
                    current.set_attribute("http.route", template)
                if "code" in status:
                    current.set_attribute("http.response.status_code", status["code"])
                    if status["code"] >= 500:
                        current.set_status(Status(StatusCode.ERROR))
