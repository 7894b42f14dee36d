"""How the entrypoints build export's units of work from the service runtime."""

from __future__ import annotations

from ledgerline_export.service.unit_of_work import ExportUnitOfWork, NewUnitOfWork
from ledgerline_shared.runtime import ServiceRuntime


def writing(runtime: ServiceRuntime) -> NewUnitOfWork:
    """Transactions that commit; the events they emit wake the outbox relay."""
    return lambda: ExportUnitOfWork(runtime.sessions, runtime.event_sink, wake=runtime.relay.wake)


def reading(runtime: ServiceRuntime) -> NewUnitOfWork:
    """Read-only transactions, on the read sessions."""
    return lambda: ExportUnitOfWork(runtime.read_sessions, runtime.event_sink, read_only=True)
