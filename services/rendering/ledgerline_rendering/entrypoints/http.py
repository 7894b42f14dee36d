"""GET /api/v1/documents/{number} and its files (spec section 6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from ledgerline_rendering.service.rendering import client_of, versions_of
from ledgerline_shared import auth
from ledgerline_shared.document_store import FolderDocumentStore
from ledgerline_shared.runtime import ServiceRuntime

router = APIRouter(prefix="/api/v1/documents", tags=["documents"])
MEDIA = {"pdf": "application/pdf", "ubl": "application/xml", "json": "application/json"}


async def _load(request: Request, number: str, principal: auth.Principal) -> tuple[Any, list[Any]]:
    runtime: ServiceRuntime = request.app.state.runtime
    async with runtime.sessions() as session:
        row, versions = await versions_of(session, number)
    # 404 also for another client's document: a portal user cannot probe numbers.
    if row is None or not versions or not principal.may_read_client(client_of(row)):
        raise HTTPException(404, detail=f"no document {number!r}")
    return row, versions


@router.get("/{number}")
async def document_versions(
    number: str, request: Request, principal: auth.Principal = Depends(auth.require(auth.READ, portal=True))
) -> dict[str, Any]:
    row, versions = await _load(request, number, principal)
    return {
        "number": row.number,
        "type": row.type,
        "generation_count": row.generation_count,
        "versions": [
            {
                "version": v.version,
                "rendered_at": v.rendered_at.isoformat(),
                "reason": v.reason,
                "sha256": {k: f["sha256"] for k, f in v.files.items()},
                "files": v.files,
            }
            for v in versions
        ],
    }


async def _file(
    request: Request, number: str, kind: str, version: int | None, principal: auth.Principal
) -> Response:
    _row, versions = await _load(request, number, principal)
    chosen = versions[-1] if version is None else next((v for v in versions if v.version == version), None)
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
