"""Refusals become 4xx answers naming the field, in FastAPI's own error shape."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ledgerline_invoicing.domain.errors import DomainError
from ledgerline_invoicing.domain.run_approval import OwnPreviewApproval
from ledgerline_invoicing.service.errors import Conflict, NotFound


def _body(field: str, message: str, kind: str) -> dict[str, object]:
    return {"detail": [{"loc": ["body", *field.split(".")], "msg": message, "type": kind}]}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(_body(exc.field, exc.message, "refused"), status_code=422)

    @app.exception_handler(OwnPreviewApproval)
    async def own_preview(_request: Request, exc: OwnPreviewApproval) -> JSONResponse:
        # Four eyes: the starter of a preview run lacks the right to approve it.
        return JSONResponse(_body(exc.field, exc.message, "forbidden"), status_code=403)

    @app.exception_handler(NotFound)
    async def not_found(_request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(_body(exc.field, str(exc), "not_found"), status_code=404)

    @app.exception_handler(Conflict)
    async def conflict(_request: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse(_body(exc.field, exc.message, "conflict"), status_code=409)
