"""The operations endpoints every service serves: /metrics, /asyncapi.json, /dashboard, dead-letter replay.

The dashboard and the replay show recipients' addresses and can resend events: admin or ops only.
/metrics is open, but never to the outside (docs/security.md).
"""

from __future__ import annotations

import ipaddress
import json
from typing import TYPE_CHECKING, Any

import structlog
from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ledgerline_shared import auth
from ledgerline_shared.operations.dashboard import render_dashboard
from ledgerline_shared.operations.dead_letters import replay_dead_letter

if TYPE_CHECKING:
    from ledgerline_shared.runtime import ServiceRuntime

log = structlog.get_logger(__name__)
_PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def operations_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/metrics", include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        # On the service port only to a direct loopback client (not through a proxy such as the
        # gateway), and not at all when metrics have their own internal port.
        metrics_port = runtime.settings.metrics_port
        if metrics_port is not None:
            raise HTTPException(404, detail=f"metrics are served on port {metrics_port}")
        if not metrics_client_allowed(request):
            raise HTTPException(403, detail="metrics are served to the loopback only")
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @router.get("/asyncapi.json")
    async def asyncapi() -> JSONResponse:
        from faststream.specification import AsyncAPI

        spec = AsyncAPI(runtime.broker, title=f"Ledgerline {runtime.name}", version="0.1.0")
        return JSONResponse(json.loads(spec.to_specification().to_json()))

    operations = Depends(auth.require(auth.OPERATIONS))

    @router.get("/dashboard", response_class=HTMLResponse)
    async def dashboard(_p: auth.Principal = operations) -> HTMLResponse:
        return HTMLResponse(await render_dashboard(runtime))

    @router.post("/api/v1/dead-letters/{dead_letter_id}/replay", status_code=202)
    async def replay(
        # A dead letter's id is a BIGSERIAL: a larger number is refused (422), not sent to the database.
        dead_letter_id: int = Path(ge=1, le=2**63 - 1),
        _p: auth.Principal = operations,
    ) -> dict[str, Any]:
        return await replay_dead_letter(runtime, dead_letter_id)

    return router


def metrics_client_allowed(request: Request) -> bool:
    """A direct loopback client: a request relayed by a proxy on this host carries its headers."""
    if request.client is None or any(h in request.headers for h in _PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


def start_metrics_server(host: str, port: int) -> Any:
    """/metrics alone on an internal port (prometheus_client's own threaded server)."""
    from prometheus_client import start_http_server

    server, _thread = start_http_server(port, addr=host)
    log.info("metrics listening", host=host, port=server.server_port)
    return server
