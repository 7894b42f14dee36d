"""Files from an API streamed back to the browser with the person's token: the browser never holds one."""

from __future__ import annotations

from typing import Any

from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from ledgerline_backoffice.adapters.api_client import ApiClient

PASSED_HEADERS = ("content-disposition", "x-document-version", "x-content-sha256", "x-rows")


async def relay(
    api: ApiClient,
    service: str,
    path: str,
    token: str,
    params: dict[str, Any] | None = None,
    *,
    inline_pdf: bool = False,
) -> StreamingResponse:
    """`inline_pdf`: a PDF opens in the browser rather than being saved (Grouped invoice printing)."""
    upstream = await api.open_stream(service, path, token, params)
    headers = {k: upstream.headers[k] for k in PASSED_HEADERS if k in upstream.headers}
    disposition = headers.get("content-disposition", "")
    if inline_pdf and upstream.headers.get("content-type", "").startswith("application/pdf"):
        headers["content-disposition"] = disposition.replace("attachment", "inline", 1) or "inline"
    headers["Cache-Control"] = "private, no-store"
    return StreamingResponse(
        upstream.aiter_bytes(),
        media_type=upstream.headers.get("content-type", "application/octet-stream"),
        headers=headers,
        background=BackgroundTask(upstream.aclose),
    )
