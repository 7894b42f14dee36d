"""Clients, contacts, the catalog, client folders and rate plans: what the billing runs read."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.orm import (
    ArticleRow,
    ClientRow,
    ContactRow,
    OneTimeItemRow,
    RatePlanRow,
    SubscriptionRow,
)
from ledgerline_invoicing.domain.billing import Article, ArticleKind, OneTimeItem, Repeat, Subscription
from ledgerline_invoicing.domain.errors import DomainError, InvalidBillingItem
from ledgerline_invoicing.domain.rating import Increment
from ledgerline_invoicing.entrypoints import schemas
from ledgerline_invoicing.service.errors import Conflict, NotFound
from ledgerline_invoicing.service.usage import plan_from_row


async def get_client(session: AsyncSession, client_id: str) -> ClientRow:
    client = await session.get(ClientRow, client_id)
    if client is None:
        raise NotFound("client", client_id, "client_id")
    return client


async def _check_rate_plan(session: AsyncSession, code: str | None) -> None:
    if code is not None and await session.get(RatePlanRow, code) is None:
        raise NotFound("rate plan", code, "rate_plan_code")


async def create_client(session: AsyncSession, data: schemas.ClientIn) -> ClientRow:
    await _check_rate_plan(session, data.rate_plan_code)
    if data.code is None:
        count = await session.scalar(select(func.count()).select_from(ClientRow)) or 0
        code = f"C{count + 1:05d}"
        while await session.scalar(select(ClientRow.id).where(ClientRow.code == code)):
            count += 1
            code = f"C{count + 1:05d}"
    else:
        code = data.code
        if await session.scalar(select(ClientRow.id).where(ClientRow.code == code)):
            raise Conflict("code", f"a client with code {code!r} exists")
    client = ClientRow(
        code=code,
        name=data.name,
        address_line1=data.address.line1,
        address_line2=data.address.line2,
        postcode=data.address.postcode,
        city=data.address.city,
        country=data.address.country,
        vat_id=data.vat_id,
        siren=data.siren,
        language=data.language,
        currency=data.currency,
        payment_terms_days=data.payment_terms_days,
        rate_plan_code=data.rate_plan_code,
    )
    session.add(client)
    await session.flush()
    return client


async def update_client(session: AsyncSession, client_id: str, patch: schemas.ClientPatch) -> ClientRow:
    client = await get_client(session, client_id)
    changes = patch.model_dump(exclude_unset=True)
    if "rate_plan_code" in changes:
        await _check_rate_plan(session, changes["rate_plan_code"])
    address = changes.pop("address", None)
    if address is not None:
        client.address_line1 = address["line1"]
        client.address_line2 = address.get("line2")
        client.postcode = address["postcode"]
        client.city = address["city"]
        client.country = address["country"]
    for name, value in changes.items():
        if value is None and name in {"name", "language", "currency", "payment_terms_days"}:
            continue
        setattr(client, name, value)
    await session.flush()
    return client


async def search_clients(session: AsyncSession, q: str | None, limit: int, offset: int) -> list[ClientRow]:
    query = select(ClientRow).order_by(ClientRow.code).limit(limit).offset(offset)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(or_(func.lower(ClientRow.name).like(like), func.lower(ClientRow.code).like(like)))
    return list((await session.scalars(query)).all())


async def add_contact(session: AsyncSession, client_id: str, data: schemas.ContactIn) -> ContactRow:
    await get_client(session, client_id)
    contact = ContactRow(client_id=client_id, **data.model_dump())
    session.add(contact)
    await session.flush()
    return contact


async def update_contact(session: AsyncSession, contact_id: str, patch: schemas.ContactPatch) -> ContactRow:
    contact = await session.get(ContactRow, contact_id)
    if contact is None:
        raise NotFound("contact", contact_id, "contact_id")
    for name, value in patch.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(contact, name, value)
    await session.flush()
    return contact


async def list_contacts(session: AsyncSession, client_id: str) -> list[ContactRow]:
    await get_client(session, client_id)
    return list((await session.scalars(select(ContactRow).where(ContactRow.client_id == client_id))).all())


def domain_article(row: ArticleRow) -> Article:
    """The catalog row as the billing rules see it (its checks run on construction)."""
    return Article(
        code=row.code,
        label=row.label,
        kind=ArticleKind(row.kind),
        unit_price=Decimal(row.unit_price),
        vat_rate=Decimal(row.vat_rate),
        accounting_account=row.accounting_account,
    )


async def create_article(session: AsyncSession, data: schemas.ArticleIn) -> ArticleRow:
    if await session.get(ArticleRow, data.code) is not None:
        raise Conflict("code", f"an article with code {data.code!r} exists")
    article = ArticleRow(**data.model_dump())
    domain_article(article)  # a negative price only for credit notes, a VAT rate of 2 decimals
    session.add(article)
    await session.flush()
    return article


async def update_article(session: AsyncSession, code: str, patch: schemas.ArticlePatch) -> ArticleRow:
    article = await get_article(session, code, "code")
    changes = {k: v for k, v in patch.model_dump(exclude_unset=True).items() if v is not None}
    for name, value in changes.items():
        setattr(article, name, value)
    domain_article(article)  # the changed article must still be a valid one; else nothing is kept
    await session.flush()
    return article


async def get_article(session: AsyncSession, code: str, field: str = "article_code") -> ArticleRow:
    article = await session.get(ArticleRow, code)
    if article is None:
        raise NotFound("article", code, field)
    return article


async def add_subscription(
    session: AsyncSession, client_id: str, data: schemas.SubscriptionIn
) -> SubscriptionRow:
    await get_client(session, client_id)
    article = await get_article(session, data.article_code)
    Subscription(  # the billing rules: a recurring article, a positive quantity, dates in order
        id="new",
        article=domain_article(article),
        quantity=data.quantity,
        start_date=data.start_date,
        end_date=data.end_date,
        unit_price=data.unit_price,
    )
    row = SubscriptionRow(client_id=client_id, **data.model_dump())
    session.add(row)
    await session.flush()
    return row


async def add_one_time_item(
    session: AsyncSession, client_id: str, data: schemas.OneTimeItemIn
) -> OneTimeItemRow:
    await get_client(session, client_id)
    article = await get_article(session, data.article_code)
    if article.kind not in {"one_time", "credit_note"}:
        raise InvalidBillingItem(
            "article_code", f"article {article.code!r} is {article.kind}: not a one-time item"
        )
    OneTimeItem(  # the billing rules: a negative amount only on a credit-note article
        id="new",
        article=domain_article(article),
        quantity=data.quantity,
        unit_price=data.unit_price,
        label=data.label,
        repeat=Repeat(data.repeat),
    )
    row = OneTimeItemRow(client_id=client_id, **data.model_dump())
    session.add(row)
    await session.flush()
    return row


async def set_one_time_item_active(session: AsyncSession, item_id: str, active: bool) -> OneTimeItemRow:
    row = await session.get(OneTimeItemRow, item_id)
    if row is None:
        raise NotFound("one-time item", item_id, "item_id")
    row.active = active
    await session.flush()
    return row


async def create_rate_plan(session: AsyncSession, data: schemas.RatePlanIn) -> RatePlanRow:
    if await session.get(RatePlanRow, data.code) is not None:
        raise Conflict("code", f"a rate plan with code {data.code!r} exists")
    for i, rule in enumerate(data.rules):
        try:
            Increment.parse(rule.increment)
        except DomainError as exc:
            raise InvalidBillingItem(f"rules.{i}.increment", exc.message) from exc
    row = RatePlanRow(code=data.code, rules=[r.model_dump(mode="json") for r in data.rules])
    try:
        plan_from_row(row)  # the domain's own checks (a prefix twice for one kind...), before storing
    except DomainError as exc:
        # The domain says 'rules[1].prefix'; the API names fields as 'rules.1.prefix', like pydantic.
        field = re.sub(r"^rules\[(\d+)\]", r"rules.\1", exc.field)
        raise InvalidBillingItem(
            field if field.startswith("rules") else f"rules.{field}", exc.message
        ) from exc
    session.add(row)
    await session.flush()
    return row
