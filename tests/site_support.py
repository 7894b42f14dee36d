"""The whole product for the gateway and browser tests: five services, the gateway, an SMTP sink, demo data.

One such site per test session (fixture `site` in conftest.py), on ports of its own (shifted by
LEDGERLINE_TEST_PORT_OFFSET like every test port) and its own PostgreSQL databases, so a billing run
started from a screen over the whole operator never meets another test's clients.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from e2e_support import PORT_OFFSET, ROOT, STACK_SECRET, MailSink

from ledgerline_shared.auth import mint_token
from ledgerline_shared.settings import Settings

SITE_PORTS = {
    name: port + PORT_OFFSET
    for name, port in {
        "invoicing": 18201,
        "rendering": 18202,
        "notification": 18203,
        "export": 18204,
        "backoffice": 18205,
    }.items()
}
SITE_GATEWAY_PORT = 18180 + PORT_OFFSET
# The site's own broker: services of two stacks on one broker would share consumer groups and topics,
# each taking the other's events.
SITE_KAFKA_PORT = 19094 + PORT_OFFSET
SITE_KAFKA_CONTROLLER_PORT = 19095 + PORT_OFFSET
SITE_TLS_GATEWAY_PORT = 18181 + PORT_OFFSET
SITE_SMTP_PORT = 12526 + PORT_OFFSET
SITE_SFTP_PORT = 12223 + PORT_OFFSET
SCREENSHOTS = ROOT / "var" / "test" / "screenshots"
# The demo users' roles, as `make run` creates them (the portal user gets a demo client's id).
ROLES = {"admin": "admin", "billing": "billing", "accounting": "accounting", "readonly": "readonly"}


@dataclass
class Login:
    username: str
    password: str
    roles: str
    email: str
    client_id: str = ""


@dataclass
class Site:
    """The running site: base URL of the gateway, who can sign in, the mail received, direct API access."""

    stack: Any  # ledgerline_stack.Stack
    mail: MailSink
    data_dir: Path
    logins: dict[str, Login] = field(default_factory=dict)
    portal_client: dict[str, Any] = field(default_factory=dict)
    other_client: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return str(self.stack.config.gateway_url())

    def api_url(self, service: str) -> str:
        return str(self.stack.config.url(service))

    def token(self, *roles: str, sub: str = "site-test") -> dict[str, str]:
        settings = Settings(jwt_secret=STACK_SECRET)
        token = mint_token(settings, sub=sub, roles=roles, email=f"{sub}@ledgerline.test")
        return {"Authorization": f"Bearer {token}"}

    def gateway(self) -> httpx.Client:
        """A plain HTTP client of the gateway (no session): what a script or an integration sees."""
        return httpx.Client(base_url=self.url, timeout=30)

    def api(self, service: str = "invoicing") -> httpx.Client:
        """A service's API directly, as admin: the reference the screens are checked against."""
        base = self.api_url(service) + "/api/v1"
        return httpx.Client(base_url=base, headers=self.token("admin"), timeout=30)


def new_login(username: str, roles: str, client_id: str = "") -> Login:
    return Login(username, secrets.token_urlsafe(12), roles, f"{username}@ledgerline.test", client_id)
