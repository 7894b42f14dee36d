"""Structured JSON logs carrying the service, the event id, the correlation id and the trace.

`trace_id` (32 hex digits, W3C/OpenTelemetry) and `span_id` are those of the current span: the same
`trace_id` is on the lines of every service that worked on one invoice (docs/events.md#tracing).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from ledgerline_shared.observability.context import current_correlation_id, current_event_id
from ledgerline_shared.observability.tracing import current_ids


def _add_context(service: str) -> Any:
    def processor(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
        event.setdefault("service", service)
        if (cid := current_correlation_id()) is not None:
            event.setdefault("correlation_id", cid)
        if (eid := current_event_id()) is not None:
            event.setdefault("event_id", eid)
        if (ids := current_ids()) is not None:
            event.setdefault("trace_id", ids[0])
            event.setdefault("span_id", ids[1])
        return event

    return processor


def configure_logging(service: str, level: str = "INFO") -> None:
    logging.basicConfig(stream=sys.stdout, format="%(message)s", level=level.upper())
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            _add_context(service),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
