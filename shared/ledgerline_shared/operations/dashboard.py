"""/dashboard: one HTML page of a service's state for its operators (checks, messaging, its sections)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape

from ledgerline_shared.messaging.consumer import TopicStats
from ledgerline_shared.operations.dashboard_queries import messaging_state

if TYPE_CHECKING:
    from ledgerline_shared.runtime import ServiceRuntime

_templates = Environment(
    loader=PackageLoader("ledgerline_shared", "templates"), autoescape=select_autoescape()
)


@dataclass
class DashboardSection:
    """A service's own table on its dashboard (RuntimeHooks.dashboard)."""

    title: str
    headers: list[str]
    rows: list[list[Any]]


async def render_dashboard(runtime: ServiceRuntime) -> str:
    checks = await runtime.readiness()
    lag, lag_error = await runtime.lag()
    state = await messaging_state(runtime.read_sessions, runtime.tables)
    sections = [await section() for section in runtime.hooks.dashboard]
    consumer = runtime.consumer
    # Every subscription, even before its first message: an idle topic is information too.
    topics = {topic: consumer.stats.topics.get(topic, TopicStats()) for topic, _ in consumer.subscriptions}
    return _templates.get_template("dashboard.html").render(
        service=runtime.name,
        ready=not any(checks.values()),
        started_at=runtime.started_at.isoformat(timespec="seconds"),
        checks=checks,
        relay_published=runtime.relay.published,
        relay_error=runtime.relay.last_error,
        outbox_pending=state.outbox_pending,
        parked_outbox=state.parked,
        parked_count=state.parked_count,
        topics=sorted(topics.items()),
        lag=lag,
        lag_error=lag_error,
        dead_letters=state.dead_letters,
        recent=list(consumer.stats.recent),
        extra_sections=sections,
    )
