"""FastAPI dependencies: the runtime, the settings, and units of work built from the runtime."""

from __future__ import annotations

from fastapi import Request

from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_shared.runtime import ServiceRuntime


def runtime_of(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


def settings_of(request: Request) -> InvoicingSettings:
    settings: InvoicingSettings = request.app.state.settings
    return settings


def unit_of_work(request: Request) -> InvoicingUnitOfWork:
    """A unit of work for a use case that writes: it commits itself, then wakes the outbox relay."""
    return writing_unit_of_work(runtime_of(request))


def read_unit_of_work(request: Request) -> InvoicingUnitOfWork:
    """A read-only unit of work: a view takes no write lock (SQLite's BEGIN IMMEDIATE would queue
    every invoicing write behind a slow read)."""
    runtime = runtime_of(request)
    return InvoicingUnitOfWork(runtime.read_sessions, runtime.event_sink, read_only=True)


def writing_unit_of_work(runtime: ServiceRuntime) -> InvoicingUnitOfWork:
    return InvoicingUnitOfWork(runtime.sessions, runtime.event_sink, wake=runtime.relay.wake)
