"""GET /api/v1/deliveries?document=NUMBER: the delivery log of one document (spec section 7)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from ledgerline_notification.service.delivery_log import deliveries_of, describe
from ledgerline_notification.service.unit_of_work import NotificationUnitOfWork
from ledgerline_shared import auth
from ledgerline_shared.runtime import ServiceRuntime

router = APIRouter(prefix="/api/v1/deliveries", tags=["deliveries"])


@router.get("")
async def document_deliveries(
    request: Request,
    document: str = Query(min_length=1, max_length=64, description="the document number"),
    principal: auth.Principal = Depends(auth.require(auth.READ, portal=True)),
) -> dict[str, Any]:
    runtime: ServiceRuntime = request.app.state.runtime
    uow = NotificationUnitOfWork(runtime.read_sessions, runtime.event_sink, read_only=True)
    found = await deliveries_of(uow, document)
    if not principal.is_staff and not principal.may_read_client(found.client_id):
        # 404, not 403: a portal user cannot learn which numbers exist.
        raise HTTPException(404, detail=f"no document {document!r}")
    return {"document": document, "deliveries": [describe(row) for row in found.deliveries]}
