"""Per-task context carried into logs and onto the events a handler writes."""

from __future__ import annotations

from contextvars import ContextVar

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
_event_id: ContextVar[str | None] = ContextVar("event_id", default=None)


def current_correlation_id() -> str | None:
    return _correlation_id.get()


def current_event_id() -> str | None:
    return _event_id.get()


def bind(*, correlation_id: str | None = None, event_id: str | None = None) -> None:
    if correlation_id is not None:
        _correlation_id.set(correlation_id)
    if event_id is not None:
        _event_id.set(event_id)
