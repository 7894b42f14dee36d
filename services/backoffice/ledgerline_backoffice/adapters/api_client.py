"""The HTTP client of the four APIs: one pooled httpx.AsyncClient, the person's own token on each call.

Each call carries the current trace (`traceparent`, `tracestate`): the API's work on a page's behalf
is in the page's trace.
"""

from __future__ import annotations

from typing import Any

import httpx

from ledgerline_backoffice.config import API_SERVICES, BackofficeSettings
from ledgerline_shared.observability import tracing


class ApiError(Exception):
    """An API refused or could not answer; `status` 503 with `unreachable` when it did not answer."""

    def __init__(self, service: str, status: int, detail: Any = None, unreachable: bool = False) -> None:
        super().__init__(f"{service} answered {status}: {detail!r}")
        self.service = service
        self.status = status
        self.detail = detail
        self.unreachable = unreachable


class ApiClient:
    def __init__(
        self, settings: BackofficeSettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.base_urls = {service: settings.api_url(service) for service in API_SERVICES}
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.backoffice_api_timeout_s, connect=5.0),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            transport=transport,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    def _url(self, service: str, path: str) -> str:
        return self.base_urls[service] + path

    @staticmethod
    def _headers(token: str, correlation_id: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if correlation_id:
            headers["X-Correlation-Id"] = correlation_id
        return tracing.inject(headers)

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        token: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """The decoded JSON answer of a 2xx; an ApiError otherwise."""
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        try:
            response = await self.http.request(
                method, self._url(service, path), params=clean, json=json, headers=self._headers(token)
            )
        except httpx.HTTPError as exc:
            raise ApiError(service, 503, str(exc), unreachable=True) from exc
        if response.status_code >= 400:
            raise ApiError(service, response.status_code, _detail(response))
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ApiError(service, 502, "the answer was not JSON") from exc

    async def open_stream(
        self, service: str, path: str, token: str, params: dict[str, Any] | None = None
    ) -> httpx.Response:
        """A streamed GET (a file); the caller closes it. Refusals are read and raised as ApiError."""
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        request = self.http.build_request(
            "GET",
            self._url(service, path),
            params=clean,
            headers=tracing.inject({"Authorization": f"Bearer {token}"}),
        )
        try:
            response = await self.http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise ApiError(service, 503, str(exc), unreachable=True) from exc
        if response.status_code >= 400:
            await response.aread()
            await response.aclose()
            raise ApiError(service, response.status_code, _detail(response))
        return response

    async def alive(self, service: str) -> None:
        response = await self.http.get(self._url(service, "/health/live"), timeout=3.0)
        response.raise_for_status()


def _detail(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("detail") if isinstance(body, dict) else None
