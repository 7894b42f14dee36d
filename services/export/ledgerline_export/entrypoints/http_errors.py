"""Refusals become 4xx answers naming the field, in FastAPI's own error shape."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ledgerline_export.service.errors import Conflict, NotFound, Refused


def _body(field: str, message: str, kind: str, where: str = "body") -> dict[str, object]:
    return {"detail": [{"loc": [where, *field.split(".")], "msg": message, "type": kind}]}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Refused)
    async def refused(_request: Request, exc: Refused) -> JSONResponse:
        return JSONResponse(_body(exc.field, exc.message, "refused", exc.where), status_code=422)

    @app.exception_handler(NotFound)
    async def not_found(_request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(_body(exc.field, str(exc), "not_found", "path"), status_code=404)

    @app.exception_handler(Conflict)
    async def conflict(_request: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse(_body(exc.field, exc.message, "conflict"), status_code=409)
