"""The back office in-process through its real HTTP app, calling the real invoicing and export apps.

Both services run in-process on fresh SQLite databases without Kafka (events stay in their outboxes),
as in their own service tests; the back office reaches them through an httpx transport that routes by
host. Rendering and notification are not started: a call to them fails to connect, as it would for real.
Users are written to a real users file with argon2 hashes.
"""

from __future__ import annotations

import functools
import json
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledgerline_backoffice.adapters.users_file import UsersFile
from ledgerline_backoffice.config import BackofficeSettings
from ledgerline_backoffice.entrypoints.app import create_app
from ledgerline_export.config import ExportSettings
from ledgerline_export.entrypoints.app import create_app as create_export_app
from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.entrypoints.app import create_app as create_invoicing_app
from ledgerline_shared.auth import mint_token

SECRET = "test-secret-0123456789abcdef0123456789"
PASSWORD = "correct horse battery"
USERS = {
    "ada": ("admin", "Ada Admin"),
    "bill": ("billing", "Bill Billing"),
    "acc": ("accounting", "Alice Accounting"),
    "rory": ("readonly", "Rory Readonly"),
}
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


class RoutingTransport(httpx.AsyncBaseTransport):
    """Sends each request to the in-process app of its host; no app for a host: connection refused."""

    def __init__(self, apps: dict[str, Any]) -> None:
        self.transports = {host: httpx.ASGITransport(app=app) for host, app in apps.items()}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self.transports.get(request.url.host)
        if transport is None:
            raise httpx.ConnectError(f"nothing listens at {request.url.host}", request=request)
        return await transport.handle_async_request(request)


@dataclass
class Backoffice:
    password = PASSWORD
    http: httpx.AsyncClient
    app: Any
    settings: BackofficeSettings
    invoicing: httpx.AsyncClient
    invoicing_settings: InvoicingSettings
    invoicing_app: Any = None  # its billing runner, to wait for a run the screens started

    def api_headers(self, *roles: str, sub: str = "setup") -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(self.invoicing_settings, sub=sub, roles=roles)}"}

    def bearer(self, *roles: str, sub: str = "idp-user") -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(self.settings, sub=sub, roles=roles)}"}

    async def csrf_of(self, path: str, **kwargs: Any) -> str:
        page = await self.http.get(path, **kwargs)
        found = CSRF.search(page.text)
        assert found, f"no CSRF field on {path}"
        return found.group(1)

    async def sign_in(self, username: str, password: str = PASSWORD, **kwargs: Any) -> httpx.Response:
        token = await self.csrf_of("/login")
        return await self.http.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": token, "next": "/"},
            **kwargs,
        )

    async def sign_out(self) -> None:
        token = await self.csrf_of("/info")
        await self.http.post("/logout", data={"csrf_token": token})


@functools.cache
def _users_json() -> str:
    """The test people, hashed once per run (argon2 is slow on purpose) in the file's own format."""
    first, *rest = USERS.items()
    scratch = UsersFile(Path(tempfile.mkdtemp()) / "users.json")
    hashed = scratch.put(first[0], PASSWORD, (first[1][0],), first[1][1], f"{first[0]}@operator.test")
    records = [
        {
            "username": u,
            "password_hash": hashed.password_hash,
            "roles": [role],
            "name": name,
            "email": f"{u}@operator.test",
        }
        for u, (role, name) in [first, *rest]
    ]
    return json.dumps({"users": records})


def write_users(users: UsersFile) -> None:
    users.path.parent.mkdir(parents=True, exist_ok=True)
    users.path.write_text(_users_json(), encoding="utf-8")


def backoffice_settings(tmp_path: Path, **overrides: Any) -> BackofficeSettings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "jwt_secret": SECRET,
        "backoffice_invoicing_url": "http://invoicing",
        "backoffice_rendering_url": "http://rendering",
        "backoffice_notification_url": "http://notification",
        "backoffice_export_url": "http://export",
        **overrides,
    }
    return BackofficeSettings(**values)


@pytest.fixture
async def backoffice(tmp_path: Path) -> AsyncIterator[Backoffice]:
    async with started_backoffice(tmp_path) as bo:
        yield bo


@pytest.fixture
def make_backoffice(tmp_path: Path) -> Any:
    """`async with make_backoffice(backoffice_secure_cookies=True) as bo:` (other settings)."""
    return lambda **overrides: started_backoffice(tmp_path / "other", **overrides)


def started_backoffice(tmp_path: Path, **overrides: Any) -> Any:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def run() -> AsyncIterator[Backoffice]:
        invoicing_settings = InvoicingSettings(
            data_dir=tmp_path / "invoicing", jwt_secret=SECRET, kafka_bootstrap_servers="127.0.0.1:1"
        )
        invoicing_app = create_invoicing_app(invoicing_settings)
        export_settings = ExportSettings(
            data_dir=tmp_path / "export",
            jwt_secret=SECRET,
            kafka_bootstrap_servers="127.0.0.1:1",
            sftp_port=0,
        )
        export_app = create_export_app(export_settings)
        settings = backoffice_settings(tmp_path, **overrides)
        write_users(UsersFile(settings.users_path()))
        transport = RoutingTransport({"invoicing": invoicing_app, "export": export_app})
        # Behind TLS the cookies are Secure: the test browser must then speak https to send them back.
        base_url = "https://backoffice" if settings.backoffice_secure_cookies else "http://backoffice"
        app = create_app(settings, api_transport=transport)
        async with (
            invoicing_app.router.lifespan_context(invoicing_app),
            export_app.router.lifespan_context(export_app),
            app.router.lifespan_context(app),
        ):
            async with (
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as http,
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=invoicing_app), base_url="http://invoicing"
                ) as api,
            ):
                yield Backoffice(http, app, settings, api, invoicing_settings, invoicing_app)

    return run()
