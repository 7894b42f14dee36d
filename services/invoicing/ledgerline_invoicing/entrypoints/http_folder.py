"""Clients, contacts, catalog, client folders, rate plans (spec section 5)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query

from ledgerline_invoicing.adapters.orm import (
    ArticleRow,
    ClientRow,
    ContactRow,
    OneTimeItemRow,
    SubscriptionRow,
)
from ledgerline_invoicing.entrypoints import schemas
from ledgerline_invoicing.entrypoints.deps import read_unit_of_work, unit_of_work
from ledgerline_invoicing.service import folder
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_shared import auth
from ledgerline_shared.http_limits import RowOffset

router = APIRouter(prefix="/api/v1", tags=["clients and catalog"])
READ = Depends(auth.require(auth.READ))
WRITE = Depends(auth.require(auth.WRITE))
UOW = Depends(unit_of_work)
READ_UOW = Depends(read_unit_of_work)


def client_out(c: ClientRow) -> dict[str, Any]:
    return {
        "id": c.id,
        "code": c.code,
        "name": c.name,
        "address": {
            "line1": c.address_line1,
            "line2": c.address_line2,
            "postcode": c.postcode,
            "city": c.city,
            "country": c.country,
        },
        "vat_id": c.vat_id,
        "siren": c.siren,
        "language": c.language,
        "currency": c.currency,
        "payment_terms_days": c.payment_terms_days,
        "rate_plan_code": c.rate_plan_code,
    }


def contact_out(c: ContactRow) -> dict[str, Any]:
    return {
        "id": c.id,
        "client_id": c.client_id,
        "name": c.name,
        "email": c.email,
        "invoice_recipient": c.invoice_recipient,
    }


def article_out(a: ArticleRow) -> dict[str, Any]:
    return {
        "code": a.code,
        "label": a.label,
        "kind": a.kind,
        "unit_price": str(a.unit_price.normalize()) if a.unit_price % 1 else f"{a.unit_price:.2f}",
        "vat_rate": f"{a.vat_rate:.2f}",
        "accounting_account": a.accounting_account,
    }


def subscription_out(s: SubscriptionRow) -> dict[str, Any]:
    return {
        "id": s.id,
        "client_id": s.client_id,
        "article_code": s.article_code,
        "quantity": str(s.quantity.normalize()),
        "unit_price": None if s.unit_price is None else str(s.unit_price.normalize()),
        "start_date": s.start_date.isoformat(),
        "end_date": s.end_date.isoformat() if s.end_date else None,
    }


def one_time_item_out(i: OneTimeItemRow) -> dict[str, Any]:
    return {
        "id": i.id,
        "client_id": i.client_id,
        "article_code": i.article_code,
        "quantity": str(i.quantity.normalize()),
        "unit_price": None if i.unit_price is None else str(i.unit_price.normalize()),
        "label": i.label,
        "repeat": i.repeat,
        "active": i.active,
        "billed_by": i.billed_by,
    }


@router.post("/clients", status_code=201, dependencies=[WRITE])
async def create_client(data: schemas.ClientIn, uow: InvoicingUnitOfWork = UOW) -> dict[str, Any]:
    return client_out(await folder.create_client(uow, data.command()))


@router.get("/clients", dependencies=[READ])
async def list_clients(
    q: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=50, ge=1, le=500),
    offset: RowOffset = 0,
    uow: InvoicingUnitOfWork = READ_UOW,
) -> list[dict[str, Any]]:
    return [client_out(c) for c in await folder.search_clients(uow, q, limit, offset)]


@router.get("/clients/{client_id}")
async def get_client(
    client_id: str,
    principal: auth.Principal = Depends(auth.require(auth.READ, portal=True)),
    uow: InvoicingUnitOfWork = READ_UOW,
) -> dict[str, Any]:
    if not principal.may_read_client(client_id):
        raise HTTPException(403, detail="another client's data")
    return client_out(await folder.get_client(uow, client_id))


@router.patch("/clients/{client_id}", dependencies=[WRITE])
async def patch_client(
    client_id: str, patch: schemas.ClientPatch, uow: InvoicingUnitOfWork = UOW
) -> dict[str, Any]:
    return client_out(await folder.update_client(uow, patch.command(client_id)))


@router.post("/clients/{client_id}/contacts", status_code=201, dependencies=[WRITE])
async def add_contact(
    client_id: str, data: schemas.ContactIn, uow: InvoicingUnitOfWork = UOW
) -> dict[str, Any]:
    return contact_out(await folder.add_contact(uow, data.command(client_id)))


@router.get("/clients/{client_id}/contacts", dependencies=[READ])
async def list_contacts(client_id: str, uow: InvoicingUnitOfWork = READ_UOW) -> list[dict[str, Any]]:
    return [contact_out(c) for c in await folder.list_contacts(uow, client_id)]


@router.patch("/contacts/{contact_id}", dependencies=[WRITE])
async def patch_contact(
    contact_id: str, patch: schemas.ContactPatch, uow: InvoicingUnitOfWork = UOW
) -> dict[str, Any]:
    return contact_out(await folder.update_contact(uow, patch.command(contact_id)))


@router.post("/articles", status_code=201, dependencies=[WRITE])
async def create_article(data: schemas.ArticleIn, uow: InvoicingUnitOfWork = UOW) -> dict[str, Any]:
    return article_out(await folder.create_article(uow, data.command()))


@router.get("/articles", dependencies=[READ])
async def list_articles(uow: InvoicingUnitOfWork = READ_UOW) -> list[dict[str, Any]]:
    return [article_out(a) for a in await folder.list_articles(uow)]


@router.patch("/articles/{code}", dependencies=[WRITE])
async def patch_article(
    code: str, patch: schemas.ArticlePatch, uow: InvoicingUnitOfWork = UOW
) -> dict[str, Any]:
    return article_out(await folder.update_article(uow, patch.command(code)))


@router.post("/clients/{client_id}/subscriptions", status_code=201, dependencies=[WRITE])
async def add_subscription(
    client_id: str, data: schemas.SubscriptionIn, uow: InvoicingUnitOfWork = UOW
) -> dict[str, Any]:
    return subscription_out(await folder.add_subscription(uow, data.command(client_id)))


@router.get("/clients/{client_id}/subscriptions", dependencies=[READ])
async def list_subscriptions(client_id: str, uow: InvoicingUnitOfWork = READ_UOW) -> list[dict[str, Any]]:
    return [subscription_out(s) for s in await folder.list_subscriptions(uow, client_id)]


@router.post("/clients/{client_id}/one-time-items", status_code=201, dependencies=[WRITE])
async def add_one_time_item(
    client_id: str, data: schemas.OneTimeItemIn, uow: InvoicingUnitOfWork = UOW
) -> dict[str, Any]:
    return one_time_item_out(await folder.add_one_time_item(uow, data.command(client_id)))


@router.get("/clients/{client_id}/one-time-items", dependencies=[READ])
async def list_one_time_items(client_id: str, uow: InvoicingUnitOfWork = READ_UOW) -> list[dict[str, Any]]:
    return [one_time_item_out(i) for i in await folder.list_one_time_items(uow, client_id)]


@router.patch("/one-time-items/{item_id}", dependencies=[WRITE])
async def patch_one_time_item(
    item_id: str, patch: schemas.OneTimeItemPatch, uow: InvoicingUnitOfWork = UOW
) -> dict[str, Any]:
    return one_time_item_out(await folder.set_one_time_item_active(uow, item_id, patch.active))


@router.post("/rate-plans", status_code=201, dependencies=[WRITE])
async def create_rate_plan(data: schemas.RatePlanIn, uow: InvoicingUnitOfWork = UOW) -> dict[str, Any]:
    row = await folder.create_rate_plan(uow, data.command())
    return {"code": row.code, "rules": row.rules}


@router.get("/rate-plans", dependencies=[READ])
async def list_rate_plans(uow: InvoicingUnitOfWork = READ_UOW) -> list[dict[str, Any]]:
    return [{"code": r.code, "rules": r.rules} for r in await folder.list_rate_plans(uow)]
