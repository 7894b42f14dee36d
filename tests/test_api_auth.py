"""Every /api/v1 route of every service: 401 without a token or with an expired or wrongly signed one,
403 with a role too weak. The routes are read from each service's own OpenAPI document, so a route
added later is covered without touching this test."""

from __future__ import annotations

import datetime as dt
import importlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from e2e_support import SERVICE_APPS

from ledgerline_shared.auth import mint_token

SECRET = "auth-test-secret-0123456789abcdef01234567"
SERVICES = SERVICE_APPS


@pytest.fixture(params=sorted(SERVICES))
async def service_app(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[Any, Any]]:
    app_module, config_module, settings_class = SERVICES[request.param]
    settings = getattr(importlib.import_module(config_module), settings_class)(
        data_dir=tmp_path, jwt_secret=SECRET, kafka_bootstrap_servers="127.0.0.1:1", sftp_port=0
    )
    app = importlib.import_module(app_module).create_app(settings)
    yield app, settings


def _routes(app: Any) -> list[tuple[str, str]]:
    routes = []
    for path, operations in app.openapi()["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        concrete = re.sub(r"\{[^}]+\}", "X1", path)
        routes.extend((method.upper(), concrete) for method in operations)
    return routes


async def test_every_api_route_requires_a_valid_token_and_role(service_app: tuple[Any, Any]) -> None:
    app, settings = service_app
    routes = _routes(app)
    assert routes, "a service without any /api/v1 route"
    now = dt.datetime.now(dt.UTC)
    expired = jwt.encode(
        {"sub": "alice", "roles": ["admin"], "exp": int((now - dt.timedelta(minutes=5)).timestamp())},
        SECRET,
        algorithm="HS256",
    )
    forged = jwt.encode(
        {"sub": "alice", "roles": ["admin"], "exp": int((now + dt.timedelta(hours=1)).timestamp())},
        "another-secret-0123456789abcdef0123456789",
        algorithm="HS256",
    )
    unsigned = jwt.encode({"sub": "alice", "roles": ["admin"], "exp": 4102444800}, None, algorithm="none")
    other_issuer = jwt.encode(
        {
            "sub": "alice",
            "roles": ["admin"],
            "iss": "someone-else",
            "exp": int((now + dt.timedelta(hours=1)).timestamp()),
        },
        SECRET,
        algorithm="HS256",
    )
    weak = mint_token(settings, sub="mallory", roles=["nobody"])
    reader = mint_token(settings, sub="rita", roles=["readonly"])
    portal = mint_token(settings, sub="paula", roles=["client:X1"])
    transport = httpx.ASGITransport(app=app)  # no lifespan: auth is decided before any database use
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
        for method, path in routes:
            for label, headers, expected in (
                ("no token", {}, 401),
                ("not a bearer", {"Authorization": "Basic YWxpY2U6c2VjcmV0"}, 401),
                ("malformed", {"Authorization": "Bearer not.a.jwt"}, 401),
                ("expired", {"Authorization": f"Bearer {expired}"}, 401),
                ("wrongly signed", {"Authorization": f"Bearer {forged}"}, 401),
                ("alg none", {"Authorization": f"Bearer {unsigned}"}, 401),
                ("another issuer", {"Authorization": f"Bearer {other_issuer}"}, 401),
                ("too weak", {"Authorization": f"Bearer {weak}"}, 403),
            ):
                answer = await http.request(method, path, headers=headers, json={})
                assert answer.status_code == expected, (
                    f"{method} {path} with {label}: {answer.status_code} {answer.text}"
                )
            # A reader or a client's portal user changes nothing (one's own SFTP login aside, for staff).
            if method != "GET":
                for label, token in (("readonly", reader), ("portal", portal)):
                    if label == "readonly" and path.startswith("/api/v1/me/"):
                        continue
                    answer = await http.request(
                        method, path, headers={"Authorization": f"Bearer {token}"}, json={}
                    )
                    assert answer.status_code == 403, f"{method} {path} as {label}: {answer.status_code}"
