"""FastAPI dependencies: the runtime, a unit of work, the settings."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_shared.runtime import ServiceRuntime


def runtime_of(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


async def unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the route returns, rolled back if it raises."""
    runtime = runtime_of(request)
    async with runtime.sessions() as session:
        async with session.begin():
            yield session
        runtime.relay.wake()
