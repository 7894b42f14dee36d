"""GET /api/v1/documents/{number} and its files (spec section 6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from ledgerline_rendering.domain.versions import DocumentHistory, DocumentVersion
from ledgerline_rendering.service.rendering import document_history
from ledgerline_rendering.service.unit_of_work import RenderingUnitOfWork
from ledgerline_shared import auth
from ledgerline_shared.document_store import FolderDocumentStore
from ledgerline_shared.runtime import ServiceRuntime

router = APIRouter(prefix="/api/v1/documents", tags=["documents"])
MEDIA = {"pdf": "application/pdf", "ubl": "application/xml", "json": "application/json"}


async def _load(request: Request, number: str, principal: auth.Principal) -> DocumentHistory:
    runtime: ServiceRuntime = request.app.state.runtime
    uow = RenderingUnitOfWork(runtime.read_sessions, runtime.event_sink, read_only=True)
    history = await document_history(uow, number)
    # 404 also for another client's document: a portal user cannot probe numbers.
    if history is None or not history.versions or not principal.may_read_client(history.client_id):
        raise HTTPException(404, detail=f"no document {number!r}")
    return history


@router.get("/{number}")
async def document_versions(
    number: str, request: Request, principal: auth.Principal = Depends(auth.require(auth.READ, portal=True))
) -> dict[str, Any]:
    history = await _load(request, number, principal)
    return {
        "number": history.number,
        "type": history.type,
        "generation_count": history.generation_count,
        "versions": [
            {
                "version": v.version,
                "rendered_at": v.rendered_at.isoformat(),
                "reason": v.reason,
                "sha256": {k: f["sha256"] for k, f in v.files.items()},
                "files": v.files,
            }
            for v in history.versions
        ],
    }


async def _file(
    request: Request, number: str, kind: str, version: int | None, principal: auth.Principal
) -> Response:
    history = await _load(request, number, principal)
    chosen: DocumentVersion | None = history.version(version)
    if chosen is None:
        raise HTTPException(404, detail=f"{number} has no version {version}")
    ref = chosen.files.get(kind)
    if ref is None:
        raise HTTPException(404, detail=f"{number} v{chosen.version} has no {kind}")
    store = FolderDocumentStore(request.app.state.settings.document_root())
    data = store.read(str(ref["path"]))
    ext = {"pdf": "pdf", "ubl": "xml", "json": "json"}[kind]
    return Response(
        data,
        media_type=MEDIA[kind],
        headers={
            "Content-Disposition": f'inline; filename="{number}.{ext}"',
            "X-Document-Version": str(chosen.version),
            "X-Content-SHA256": str(ref["sha256"]),
        },
    )


@router.get("/{number}/pdf")
async def document_pdf(
    number: str,
    request: Request,
    version: int | None = Query(default=None, ge=1),
    principal: auth.Principal = Depends(auth.require(auth.READ, portal=True)),
) -> Response:
    return await _file(request, number, "pdf", version, principal)


@router.get("/{number}/ubl")
async def document_ubl(
    number: str,
    request: Request,
    version: int | None = Query(default=None, ge=1),
    principal: auth.Principal = Depends(auth.require(auth.READ, portal=True)),
) -> Response:
    return await _file(request, number, "ubl", version, principal)


@router.get("/{number}/json")
async def document_json(
    number: str,
    request: Request,
    version: int | None = Query(default=None, ge=1),
    principal: auth.Principal = Depends(auth.require(auth.READ, portal=True)),
) -> Response:
    return await _file(request, number, "json", version, principal)
