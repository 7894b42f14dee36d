"""Structured JSON logs carrying the service, the event id and the correlation id."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from ledgerline_shared.observability.context import current_correlation_id, current_event_id


def _add_context(service: str) -> Any:
    def processor(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
        event.setdefault("service", service)
        if (cid := current_correlation_id()) is not None:
            event.setdefault("correlation_id", cid)
        if (eid := current_event_id()) is not None:
            event.setdefault("event_id", eid)
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
