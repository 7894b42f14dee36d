"""The back-office process: pages, sign-in, health, metrics and security headers on every answer.

It owns no billing data and no Kafka: it is a client of the four APIs (LEDGERLINE_BACKOFFICE_*_URL).
`/health/ready` answers 503 while the users file is unreadable or an API does not answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib.resources import files

import httpx
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledgerline_backoffice.adapters.api_client import ApiClient, ApiError
from ledgerline_backoffice.adapters.users_file import UsersFile
from ledgerline_backoffice.config import API_SERVICES, BackofficeSettings, get_backoffice_settings
from ledgerline_backoffice.domain.api_errors import UNAVAILABLE, explain
from ledgerline_backoffice.domain.throttle import ThrottleRule
from ledgerline_backoffice.entrypoints import (
    routes_auth,
    routes_clients,
    routes_corrections,
    routes_documents,
    routes_exports,
    routes_review,
    routes_runs,
)
from ledgerline_backoffice.entrypoints.web import (
    SECURITY_HEADERS,
    CsrfRefused,
    Forbidden,
    SignInNeeded,
    current_person,
    login_redirect,
    render,
)
from ledgerline_backoffice.service.sessions import Sessions
from ledgerline_backoffice.service.sign_in import SignIn
from ledgerline_shared.observability import tracing
from ledgerline_shared.observability.logs import configure_logging

log = structlog.get_logger(__name__)
SERVICE = "backoffice"
PAGE_SECONDS = Histogram(
    "ledgerline_backoffice_page_seconds", "Time to answer a back-office request", ["method", "status"]
)


def create_app(
    settings: BackofficeSettings | None = None, api_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """`api_transport`: tests may route the API calls to in-process apps; by default real HTTP."""
    settings = settings or get_backoffice_settings()
    api = ApiClient(settings, api_transport)
    users = UsersFile(settings.users_path())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        configure_logging(SERVICE, settings.log_level)
        exporting_to = tracing.configure_tracing(SERVICE, settings.otlp_endpoint)
        if exporting_to is not None:
            log.info("exporting traces", endpoint=exporting_to)
        try:
            yield
        finally:
            await api.aclose()
            await asyncio.to_thread(tracing.flush)

    app = FastAPI(
        title="Ledgerline back office", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.settings = settings
    app.state.api = api
    app.state.users = users
    app.state.sessions = Sessions(settings, settings.backoffice_session_hours)
    app.state.sign_in = SignIn(
        users,
        ThrottleRule(
            settings.backoffice_max_failures_per_user,
            settings.backoffice_failure_window_s,
            settings.backoffice_lockout_s,
        ),
        ThrottleRule(
            settings.backoffice_max_failures_per_address,
            settings.backoffice_failure_window_s,
            settings.backoffice_lockout_s,
        ),
    )

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers.setdefault("Cache-Control", "no-store")  # pages show a person's data
        PAGE_SECONDS.labels(request.method, str(response.status_code)).observe(time.perf_counter() - started)
        return response

    # Outermost: a page is a span continuing the gateway's traceparent; the API calls it makes send it on.
    app.add_middleware(tracing.TraceRequests)

    @app.get("/health/live", tags=["operations"])
    async def live() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/health/ready", tags=["operations"])
    async def ready() -> JSONResponse:
        checks: dict[str, str | None] = {}
        try:
            await asyncio.to_thread(users.readable)
            checks["users_file"] = None
        except Exception as exc:
            checks["users_file"] = f"{type(exc).__name__}: {exc}"[:300]

        async def probe(service: str) -> None:
            try:
                await api.alive(service)
                checks[f"{service}_api"] = None
            except Exception as exc:
                checks[f"{service}_api"] = f"{type(exc).__name__}: {exc}"[:300]

        await asyncio.gather(*(probe(s) for s in API_SERVICES))
        code = 503 if any(checks.values()) else 200
        return JSONResponse({"status": "ready" if code == 200 else "not ready", "checks": checks}, code)

    @app.get("/metrics", tags=["operations"])
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.mount("/static", StaticFiles(directory=str(files("ledgerline_backoffice") / "static")), name="static")
    for module in (
        routes_auth,
        routes_documents,
        routes_corrections,
        routes_clients,
        routes_runs,
        routes_review,
        routes_exports,
    ):
        app.include_router(module.router)
    install_error_pages(app)
    return app


def install_error_pages(app: FastAPI) -> None:
    """Every refusal and failure as a page in the layout with a sentence; never a trace or raw JSON."""

    @app.exception_handler(SignInNeeded)
    async def sign_in_needed(request: Request, _exc: SignInNeeded) -> Response:
        return login_redirect(request)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return render(
            request, "error.html", current_person(request), 403, title="Not allowed", message=exc.message
        )

    @app.exception_handler(CsrfRefused)
    async def csrf(request: Request, _exc: CsrfRefused) -> Response:
        message = (
            "This form has expired or did not come from this site, so nothing was done. "
            "Go back, reload the page and submit it again."
        )
        return render(
            request, "error.html", current_person(request), 403, title="Form refused", message=message
        )

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        person = current_person(request)
        if exc.status == 401:  # the token expired or the secret changed: sign in again
            return login_redirect(request)
        if exc.unreachable:
            log.warning("api unreachable", service=exc.service, error=str(exc.detail))
            message = UNAVAILABLE.format(service=exc.service)
            return render(request, "error.html", person, 503, title="Service unavailable", message=message)
        status = exc.status if exc.status in (403, 404, 409, 413, 422, 429) else 502
        title = {404: "Not found", 403: "Not allowed"}.get(exc.status, "Not done")
        if exc.status >= 500:
            log.error("api failed", service=exc.service, status=exc.status, detail=str(exc.detail)[:300])
        message = explain(exc.status, exc.detail, exc.service)
        return render(request, "error.html", person, status, title=title, message=message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        person = current_person(request)
        if exc.status_code == 404:
            message = "There is no such page. Use the menu to find what you are looking for."
            return render(request, "error.html", person, 404, title="Page not found", message=message)
        if exc.status_code == 405:
            message = "This address does not accept that kind of request. Use the menu."
            return render(request, "error.html", person, 405, title="Not available", message=message)
        message = explain(exc.status_code, exc.detail, "back office")
        return render(request, "error.html", person, exc.status_code, title="Not done", message=message)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("page failed", path=request.url.path)
        message = (
            "Something went wrong on our side and nothing was changed by this page. Try again in a minute."
        )
        return render(
            request, "error.html", current_person(request), 500, title="Server error", message=message
        )
