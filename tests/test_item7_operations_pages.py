"""Issue 11 item 7: operations pages need an admin or ops token; /metrics stays on the loopback or on an
internal port of its own; compose publishes only what is meant to be public, on 127.0.0.1."""

from __future__ import annotations

import importlib
import re
import socket
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from e2e_support import SERVICE_APPS

from ledgerline_shared.auth import mint_token

SECRET = "item7-secret-0123456789abcdef0123456789"
ROOT = Path(__file__).resolve().parents[1]
SERVICES = SERVICE_APPS


def _app(service: str, tmp_path: Path, **overrides: Any) -> Any:
    app_module, config_module, settings_class = SERVICES[service]
    settings = getattr(importlib.import_module(config_module), settings_class)(
        data_dir=tmp_path, jwt_secret=SECRET, kafka_bootstrap_servers="127.0.0.1:1", sftp_port=0, **overrides
    )
    return importlib.import_module(app_module).create_app(settings)


def _bearer(app: Any, *roles: str) -> dict[str, str]:
    token = mint_token(app.state.runtime.settings, sub="someone", roles=roles)
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_item7_dashboard_and_replay_refuse_without_an_operations_role(
    service: str, tmp_path: Path
) -> None:
    app = _app(service, tmp_path)
    transport = httpx.ASGITransport(app=app)  # no lifespan: auth is decided before any database use
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
        assert (await http.get("/dashboard")).status_code == 401
        assert (await http.post("/api/v1/dead-letters/1/replay")).status_code == 401
        for role in ("billing", "accounting", "readonly", "client:C1"):
            headers = _bearer(app, role)
            assert (await http.get("/dashboard", headers=headers)).status_code == 403, role
            assert (await http.post("/api/v1/dead-letters/1/replay", headers=headers)).status_code == 403
        # ops sees the operations pages, but no business data through the API.
        reads = [
            re.sub(r"\{[^}]+\}", "X1", path)
            for path, operations in app.openapi()["paths"].items()
            if path.startswith("/api/v1") and "get" in operations and not path.startswith("/api/v1/me/")
        ]
        assert reads
        for path in reads:
            assert (await http.get(path, headers=_bearer(app, "ops"))).status_code == 403, path


@pytest.fixture
async def invoicing_app(tmp_path: Path) -> AsyncIterator[Any]:
    app = _app("invoicing", tmp_path)
    async with app.router.lifespan_context(app):
        yield app


async def test_item7_dashboard_is_served_to_admin_and_ops(invoicing_app: Any) -> None:
    transport = httpx.ASGITransport(app=invoicing_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
        for role in ("ops", "admin"):
            page = await http.get("/dashboard", headers=_bearer(invoicing_app, role))
            assert page.status_code == 200 and "Billing runs" in page.text
        unknown = await http.post("/api/v1/dead-letters/424242/replay", headers=_bearer(invoicing_app, "ops"))
        assert unknown.status_code == 404  # ops may replay: past the role check


async def test_item7_metrics_answer_only_direct_loopback_clients(invoicing_app: Any) -> None:
    async def get(client: tuple[str, int], headers: dict[str, str] | None = None) -> httpx.Response:
        transport = httpx.ASGITransport(app=invoicing_app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
            return await http.get("/metrics", headers=headers)

    loopback = await get(("127.0.0.1", 50000))
    assert loopback.status_code == 200 and "ledgerline_ready" in loopback.text
    assert (await get(("::1", 50000))).status_code == 200
    assert (await get(("10.1.2.3", 50000))).status_code == 403
    assert (await get(("192.168.0.7", 50000))).status_code == 403
    # Relayed by a proxy on this host (the gateway): the outside client is behind it, so refused.
    assert (await get(("127.0.0.1", 50000), {"X-Forwarded-For": "203.0.113.9"})).status_code == 403
    assert (await get(("127.0.0.1", 50000), {"Forwarded": "for=203.0.113.9"})).status_code == 403


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_item7_metrics_can_move_to_an_internal_port(tmp_path: Path) -> None:
    port = _free_port()
    app = _app("rendering", tmp_path, metrics_port=port, render_workers=1)
    async with app.router.lifespan_context(app):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            assert answer.status == 200 and b"ledgerline_" in answer.read()
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
            assert (await http.get("/metrics")).status_code == 404  # not on the service port any more
    with pytest.raises(OSError):  # stopped with the service
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_item7_compose_publishes_only_public_ports_on_loopback() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    meant = {
        "invoicing": {"8101"},
        "rendering": {"8102"},
        "notification": {"8103"},
        "export": {"8104", "2222"},
        # The 3-broker cluster (issue 13): one port per broker for host tools, on the loopback.
        "kafka-1": {"9092"},
        "kafka-2": {"9093"},
        "kafka-3": {"9094"},
        "mailpit": {"8025"},
    }
    for name, svc in compose["services"].items():
        published = set()
        for mapping in svc.get("ports", []):
            host, host_port, _container = str(mapping).split(":")
            assert host == "127.0.0.1", f"{name} publishes {mapping} beyond the loopback"
            published.add(host_port)
        assert published == meant.get(name, set()), name
        env = svc.get("environment", {}) or {}
        if str(env.get("LEDGERLINE_METRICS_PORT", "")):
            # Prometheus scrapes inside the compose network; the port is never published.
            assert env["LEDGERLINE_METRICS_PORT"] not in published
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    exposed = {p for line in dockerfile.splitlines() if line.startswith("EXPOSE") for p in line.split()[1:]}
    assert exposed == {"8101", "8102", "8103", "8104", "2222"}
