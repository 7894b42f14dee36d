"""Request limits every service applies: a body size cap, and the caps of paginated routes.

The body cap is an ASGI middleware: a request announcing more than its route's limit
(Content-Length) is refused with 413 before the app reads anything; one that streams more than it
announced, or announces nothing (chunked), is cut off with 413 as soon as the bytes it sent pass
the limit, whatever the endpoint is doing with them. Routes that accept more (a batch of call
records, a streamed CSV) get their own limit by exact path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated

from fastapi import HTTPException, Query
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 1024 * 1024  # 1 MiB: a proforma of 1,000 lines is about 200 KB

# Paginated routes: deeper pages are refused (422) rather than scanned; filters narrow a list.
MAX_PAGE = 10_000
MAX_OFFSET = 1_000_000


PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"1 to {MAX_PAGE}")]
RowOffset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"0 to {MAX_OFFSET}")]


def _too_large(limit: int) -> str:
    return f"The request body is larger than this route accepts ({limit} bytes)."


class BodySizeLimit:
    def __init__(self, app: ASGIApp, *, default: int, per_path: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.default = default
        self.per_path = dict(per_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.default)
        announced = _content_length(scope)
        if announced is not None and announced > limit:
            await _refuse(send, limit)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the endpoint's read: FastAPI's exception handling answers 413.
                    raise HTTPException(413, detail=_too_large(limit))
            return message

        await self.app(scope, counting_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"detail": _too_large(limit)}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
