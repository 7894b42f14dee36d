"""/health/live and /health/ready: may this process take traffic now?

Readiness runs every check with a short timeout and names what fails; Kafka or the database may go
away and come back without a restart, so the answer is computed on each call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledgerline_shared.observability import metrics

Check = Callable[[], Awaitable[None]]  # raises when the dependency is not usable
Readiness = Callable[[], Awaitable[dict[str, str | None]]]


def database_check(read_sessions: async_sessionmaker[AsyncSession]) -> Check:
    async def database() -> None:
        async with read_sessions() as session:
            await session.execute(text("SELECT 1"))

    return database


def kafka_check(bootstrap_servers: str, connected: Callable[[], bool]) -> Check:
    async def kafka() -> None:
        if not connected():
            raise RuntimeError("not connected yet")
        # A bootstrap server must accept a connection now: when the broker stops, this fails at
        # once, whereas the clients only notice on their next request.
        errors = []
        for server in bootstrap_servers.split(","):
            host, _, port = server.strip().rpartition(":")
            try:
                _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 2.0)
                writer.close()
                return
            except (OSError, TimeoutError) as exc:
                errors.append(f"{server}: {exc or type(exc).__name__}")
        raise RuntimeError("; ".join(errors))

    return kafka


async def run_checks(service: str, checks: dict[str, Check]) -> dict[str, str | None]:
    """Each check's error in one line (None when it passed); sets the `ledgerline_ready` gauge."""
    results: dict[str, str | None] = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check(), 3.0)
            results[name] = None
        except Exception as exc:
            results[name] = f"{type(exc).__name__}: {exc}"[:300]
    metrics.READY.labels(service).set(0 if any(results.values()) else 1)
    return results


def health_router(readiness: Readiness) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "alive"}

    @router.get("/health/ready")
    async def ready() -> JSONResponse:
        results = await readiness()
        failing = {k: v for k, v in results.items() if v}
        code = 503 if failing else 200
        return JSONResponse({"status": "ready" if code == 200 else "not ready", "checks": results}, code)

    return router
