"""The gateway (nginx, deploy/gateway.sh) before the real services: routes, refusals, limits, headers, TLS."""

from __future__ import annotations

import datetime as dt
import re
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
from gateway_config import ROUTES, SERVICES, USAGE_PATHS
from site_support import SITE_TLS_GATEWAY_PORT, Site

pytestmark = pytest.mark.stack

DEAD_LETTER_REPLAY = "/api/v1/dead-letters/{dead_letter_id}/replay"


def _openapi_routes(site: Site) -> dict[str, list[tuple[str, str, dict]]]:
    """service -> [(method, path template, operation)] from each service's own OpenAPI document."""
    routes: dict[str, list[tuple[str, str, dict]]] = {}
    for service in SERVICES:
        doc = httpx.get(site.api_url(service) + "/openapi.json", timeout=30).json()
        routes[service] = [
            (method.upper(), path, operation)
            for path, item in doc["paths"].items()
            if path.startswith("/api/v1/")
            for method, operation in item.items()
            if method in ("get", "post", "put", "patch", "delete")
        ]
        assert routes[service], f"{service} documents no /api/v1 route"
    return routes


def _example_path(template: str, operation: dict) -> str:
    """The template with each path parameter filled with a value of its documented type."""
    kinds = {p["name"]: p.get("schema", {}) for p in operation.get("parameters", []) if p["in"] == "path"}

    def value(match: re.Match[str]) -> str:
        schema = kinds.get(match.group(1), {})
        if schema.get("type") == "integer":
            return "1"
        if schema.get("format") == "uuid":
            return "00000000-0000-4000-8000-000000000001"
        return "F2026-000001"

    return re.sub(r"\{(\w+)\}", value, template)


def test_every_api_route_is_reachable_through_the_gateway_and_refuses_without_a_token(site: Site) -> None:
    routes = _openapi_routes(site)
    checked = 0
    with site.gateway() as gateway:
        for service, operations in routes.items():
            for method, template, operation in operations:
                path = _example_path(template, operation)
                if template == DEAD_LETTER_REPLAY:
                    path = f"/ops/{service}{path}"  # in every service: reached per service
                answer = gateway.request(method, path)
                assert answer.status_code == 401, (service, method, path, answer.status_code, answer.text)
                if template != DEAD_LETTER_REPLAY:
                    # The service's own refusal (a route it knows), not the gateway's: nginx adds no body.
                    assert answer.headers["content-type"].startswith("application/json"), answer.headers
                    assert "detail" in answer.json()
                checked += 1
    assert checked >= 40, checked


def test_the_routing_table_names_only_documented_routes(site: Site) -> None:
    documented = {
        service: {path.split("/")[3] for _m, path, _o in operations}
        for service, operations in _openapi_routes(site).items()
    }
    for service, segments in ROUTES.items():
        assert set(segments) <= documented[service], (service, set(segments) - documented[service])
    assert set(USAGE_PATHS) <= documented["invoicing"]
    # Every documented first segment is routed somewhere (dead-letters only under /ops/<service>/).
    routed = {s for segments in ROUTES.values() for s in segments} | set(USAGE_PATHS) | {"dead-letters"}
    assert set().union(*documented.values()) <= routed


def test_a_token_reaches_each_owning_service(site: Site) -> None:
    admin = site.token("admin")
    month = dt.date.today().strftime("%Y-%m")
    with site.gateway() as gateway:
        invoices = gateway.get("/api/v1/invoices", params={"month": month}, headers=admin)
        assert invoices.status_code == 200, invoices.text
        number = invoices.json()["items"][0]["number"]
        assert gateway.get(f"/api/v1/documents/{number}", headers=admin).json()["number"] == number
        assert (
            gateway.get("/api/v1/deliveries", params={"document": number}, headers=admin).status_code == 200
        )
        assert gateway.get("/api/v1/me/sftp", headers=admin).status_code == 200
        # A path no service owns is the gateway's 404, in JSON like the services' answers.
        unknown = gateway.get("/api/v1/no-such-thing", headers=admin)
        assert unknown.status_code == 404 and unknown.json()["detail"] == "no such API route"


def test_an_oversized_request_gets_413_from_the_gateway_and_stores_nothing(site: Site) -> None:
    admin = site.token("admin")
    with site.api() as api:
        before = api.get("/clients", params={"limit": 500}).json()
    body = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    with site.gateway() as gateway:
        answer = gateway.post(
            "/api/v1/clients", content=body, headers={**admin, "Content-Type": "application/json"}
        )
    assert answer.status_code == 413, answer.text
    assert answer.headers["server"] == "nginx" and "limit" in answer.json()["detail"]
    with site.api() as api:
        assert api.get("/clients", params={"limit": 500}).json() == before


def test_usage_csv_uploads_may_exceed_the_default_limit(site: Site) -> None:
    # 2 MB, over the 1 MB default: the gateway lets it through to invoicing, which refuses the bad token.
    rows = b"cdr_id,account,started_at,kind,duration_s,units,caller,callee\n" + b"x" * (2 * 1024 * 1024)
    with site.gateway() as gateway:
        answer = gateway.post(
            "/api/v1/usage.csv",
            content=rows,
            headers={"Authorization": "Bearer not-a-token", "Content-Type": "text/csv"},
        )
    assert answer.status_code == 401, answer.text


def test_security_headers_and_the_access_log(site: Site) -> None:
    with site.gateway() as gateway:
        for path in ("/login", "/api/v1/invoices"):
            answer = gateway.get(path)
            assert answer.headers["x-content-type-options"] == "nosniff", path
            assert answer.headers["x-frame-options"] == "DENY", path
            assert answer.headers["referrer-policy"] == "same-origin", path
            assert "strict-transport-security" not in answer.headers, "HSTS only over TLS"
            assert answer.headers.get_list("x-frame-options") == ["DENY"], "sent once"
    log = Path(site.stack.config.gateway_env()["LEDGERLINE_GATEWAY_DIR"]) / "logs" / "access.log"
    assert '"GET /api/v1/invoices HTTP/1.1" 401' in log.read_text()


def test_operations_pages_need_an_admin_or_ops_person(site: Site) -> None:
    with site.gateway() as gateway:
        anonymous = gateway.get("/ops/invoicing/")
        assert anonymous.status_code == 302 and anonymous.headers["location"].startswith("/login?next=/ops/")
        replay = gateway.post("/ops/invoicing/api/v1/dead-letters/1/replay")
        assert replay.status_code == 401
        billing = gateway.get("/ops/invoicing/", headers=site.token("billing"))
        assert billing.status_code == 403
        for service in SERVICES:
            dashboard = gateway.get(f"/ops/{service}/", headers=site.token("admin"))
            assert dashboard.status_code == 200, (service, dashboard.text[:300])
            assert "text/html" in dashboard.headers["content-type"]
            # Its own links stay under /ops/<service>/.
            assert f'href="/ops/{service}/metrics"' in dashboard.text
            assert 'href="/metrics"' not in dashboard.text
        # /metrics is for Prometheus on the loopback or its internal port (issue 11 item 7): a service
        # refuses it through any proxy, the gateway included, even to an admin.
        metrics = gateway.get("/ops/export/metrics", headers=site.token("admin"))
        assert metrics.status_code == 403 and "python_info" not in metrics.text


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 made here with openssl (installed by deploy/bootstrap.sh)."""
    cert, key = folder / "gateway.crt", folder / "gateway.key"
    command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
    command += " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1"
    subprocess.run(
        [*command.split(), "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True
    )
    return cert, key


def test_tls_is_switched_on_by_configuration(site: Site, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    env = site.stack.config.gateway_env()
    env.update(
        {
            "LEDGERLINE_GATEWAY_DIR": str(tmp_path / "gateway"),
            "LEDGERLINE_GATEWAY_PORT": str(SITE_TLS_GATEWAY_PORT),
            "LEDGERLINE_GATEWAY_TLS_CERT": str(cert),
            "LEDGERLINE_GATEWAY_TLS_KEY": str(key),
        }
    )
    script = ["bash", str(Path(__file__).resolve().parents[1] / "deploy" / "gateway.sh")]
    subprocess.run([*script, "start"], env=env, check=True)
    try:
        base = f"https://127.0.0.1:{SITE_TLS_GATEWAY_PORT}"
        trust = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=base, verify=trust, timeout=30) as tls:
            answer = tls.get("/api/v1/invoices")
            assert answer.status_code == 401 and "detail" in answer.json()
            assert answer.headers["strict-transport-security"].startswith("max-age=")
            assert tls.get("/login").headers["x-frame-options"] == "DENY"
        # Plain HTTP on the TLS port is refused, never served.
        plain = httpx.get(f"http://127.0.0.1:{SITE_TLS_GATEWAY_PORT}/api/v1/invoices", timeout=10)
        assert plain.status_code == 400
        # A certificate nobody trusts is refused by a client that checks.
        with pytest.raises(httpx.ConnectError):
            httpx.get(base + "/login", timeout=10)
    finally:
        subprocess.run([*script, "stop"], env=env, check=True)
    status = subprocess.run([*script, "status"], env=env)
    assert status.returncode == 3
