"""The back office's settings: its port, where the four APIs answer, sessions, cookies and throttling."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field

from ledgerline_shared.settings import Settings

API_SERVICES = ("invoicing", "rendering", "notification", "export")


class BackofficeSettings(Settings):
    backoffice_port: int = 8105
    # Empty: http://127.0.0.1:<LEDGERLINE_<SERVICE>_PORT>, the service on this machine.
    backoffice_invoicing_url: str | None = None
    backoffice_rendering_url: str | None = None
    backoffice_notification_url: str | None = None
    backoffice_export_url: str | None = None
    backoffice_api_timeout_s: float = 30.0

    backoffice_users_file: Path | None = None  # default: <data_dir>/backoffice/users.json
    backoffice_secure_cookies: bool = False  # true behind TLS: the session cookie is then Secure
    backoffice_session_hours: float = 8.0
    backoffice_locale: str = "fr"  # amounts and dates on screen: fr (1 234,56 €) or en (€1,234.56)

    # Sign-in throttling: this many failures within the window lock the username (or the address).
    backoffice_max_failures_per_user: int = 5
    backoffice_max_failures_per_address: int = 10
    backoffice_failure_window_s: float = 900.0
    backoffice_lockout_s: float = 900.0
    # Peers whose X-Real-IP header names the real client (the gateway on the loopback).
    backoffice_trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])

    def api_url(self, service: str) -> str:
        url: str | None = getattr(self, f"backoffice_{service}_url")
        if url:
            return url.rstrip("/")
        return f"http://127.0.0.1:{getattr(self, f'{service}_port')}"

    def users_path(self) -> Path:
        return self.backoffice_users_file or self.data_dir / "backoffice" / "users.json"


@lru_cache
def get_backoffice_settings() -> BackofficeSettings:
    return BackofficeSettings()
