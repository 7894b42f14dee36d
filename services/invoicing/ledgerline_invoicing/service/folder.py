"""Clients, contacts, the catalog, client folders and rate plans: what the billing runs read."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict
from decimal import Decimal

from ledgerline_invoicing.adapters.orm import (
    ArticleRow,
    ClientRow,
    ContactRow,
    OneTimeItemRow,
    RatePlanRow,
    SubscriptionRow,
)
from ledgerline_invoicing.domain.articles import ArticleKind
from ledgerline_invoicing.domain.billing import Article, OneTimeItem, Repeat, Subscription
from ledgerline_invoicing.domain.errors import DomainError, InvalidBillingItem
from ledgerline_invoicing.domain.rating import Increment
from ledgerline_invoicing.service import commands
from ledgerline_invoicing.service.errors import Conflict, NotFound
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_invoicing.service.usage import plan_from_row


# -- what other use cases find in the open unit of work ----------------------------------------------
async def existing_client(uow: InvoicingUnitOfWork, client_id: str) -> ClientRow:
    client = await uow.clients.get(client_id)
    if client is None:
        raise NotFound("client", client_id, "client_id")
    return client


async def existing_article(uow: InvoicingUnitOfWork, code: str, field: str = "article_code") -> ArticleRow:
    article = await uow.catalog.article(code)
    if article is None:
        raise NotFound("article", code, field)
    return article


async def _check_rate_plan(uow: InvoicingUnitOfWork, code: str | None) -> None:
    if code is not None and await uow.catalog.rate_plan(code) is None:
        raise NotFound("rate plan", code, "rate_plan_code")


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


# -- clients and contacts ------------------------------------------------------------------------
async def create_client(uow: InvoicingUnitOfWork, cmd: commands.CreateClient) -> ClientRow:
    async with uow:
        await _check_rate_plan(uow, cmd.rate_plan_code)
        if cmd.code is None:
            count = await uow.clients.count()
            code = f"C{count + 1:05d}"
            while await uow.clients.code_taken(code):
                count += 1
                code = f"C{count + 1:05d}"
        else:
            code = cmd.code
            if await uow.clients.code_taken(code):
                raise Conflict("code", f"a client with code {code!r} exists")
        client = await uow.clients.add(
            ClientRow(
                code=code,
                name=cmd.name,
                address_line1=cmd.address.line1,
                address_line2=cmd.address.line2,
                postcode=cmd.address.postcode,
                city=cmd.address.city,
                country=cmd.address.country,
                vat_id=cmd.vat_id,
                siren=cmd.siren,
                language=cmd.language,
                currency=cmd.currency,
                payment_terms_days=cmd.payment_terms_days,
                rate_plan_code=cmd.rate_plan_code,
            )
        )
        await uow.commit()
    return client


async def update_client(uow: InvoicingUnitOfWork, cmd: commands.UpdateClient) -> ClientRow:
    async with uow:
        client = await existing_client(uow, cmd.client_id)
        changes = dict(cmd.changes)
        if "rate_plan_code" in changes:
            await _check_rate_plan(uow, changes["rate_plan_code"])
        address = changes.pop("address", None)
        if address is not None:
            client.address_line1 = address.line1
            client.address_line2 = address.line2
            client.postcode = address.postcode
            client.city = address.city
            client.country = address.country
        for name, value in changes.items():
            if value is None and name in {"name", "language", "currency", "payment_terms_days"}:
                continue
            setattr(client, name, value)
        await uow.clients.save()
        await uow.commit()
    return client


async def get_client(uow: InvoicingUnitOfWork, client_id: str) -> ClientRow:
    async with uow:
        return await existing_client(uow, client_id)


async def search_clients(uow: InvoicingUnitOfWork, q: str | None, limit: int, offset: int) -> list[ClientRow]:
    async with uow:
        return await uow.clients.search(q, limit, offset)


async def add_contact(uow: InvoicingUnitOfWork, cmd: commands.AddContact) -> ContactRow:
    async with uow:
        await existing_client(uow, cmd.client_id)
        contact = await uow.clients.add_contact(
            ContactRow(
                client_id=cmd.client_id,
                name=cmd.name,
                email=cmd.email,
                invoice_recipient=cmd.invoice_recipient,
            )
        )
        await uow.commit()
    return contact


async def update_contact(uow: InvoicingUnitOfWork, cmd: commands.UpdateContact) -> ContactRow:
    async with uow:
        contact = await uow.clients.contact(cmd.contact_id)
        if contact is None:
            raise NotFound("contact", cmd.contact_id, "contact_id")
        for name, value in cmd.changes.items():
            if value is not None:
                setattr(contact, name, value)
        await uow.clients.save()
        await uow.commit()
    return contact


async def list_contacts(uow: InvoicingUnitOfWork, client_id: str) -> list[ContactRow]:
    async with uow:
        await existing_client(uow, client_id)
        return await uow.clients.contacts_of(client_id)


# -- the catalog -----------------------------------------------------------------------------------
async def create_article(uow: InvoicingUnitOfWork, cmd: commands.CreateArticle) -> ArticleRow:
    async with uow:
        if await uow.catalog.article(cmd.code) is not None:
            raise Conflict("code", f"an article with code {cmd.code!r} exists")
        article = ArticleRow(**asdict(cmd))
        domain_article(article)  # a negative price only for credit notes, a VAT rate of 2 decimals
        await uow.catalog.add_article(article)
        await uow.commit()
    return article


async def update_article(uow: InvoicingUnitOfWork, cmd: commands.UpdateArticle) -> ArticleRow:
    async with uow:
        article = await existing_article(uow, cmd.code, "code")
        for name, value in cmd.changes.items():
            if value is not None:
                setattr(article, name, value)
        domain_article(article)  # the changed article must still be a valid one; else nothing is kept
        await uow.catalog.save()
        await uow.commit()
    return article


async def list_articles(uow: InvoicingUnitOfWork) -> Sequence[ArticleRow]:
    async with uow:
        return await uow.catalog.articles()


# -- subscriptions and one-time items ---------------------------------------------------------------
async def add_subscription(uow: InvoicingUnitOfWork, cmd: commands.AddSubscription) -> SubscriptionRow:
    async with uow:
        await existing_client(uow, cmd.client_id)
        article = await existing_article(uow, cmd.article_code)
        Subscription(  # the billing rules: a recurring article, a positive quantity, dates in order
            id="new",
            article=domain_article(article),
            quantity=cmd.quantity,
            start_date=cmd.start_date,
            end_date=cmd.end_date,
            unit_price=cmd.unit_price,
        )
        row = await uow.clients.add_subscription(SubscriptionRow(**asdict(cmd)))
        await uow.commit()
    return row


async def list_subscriptions(uow: InvoicingUnitOfWork, client_id: str) -> Sequence[SubscriptionRow]:
    async with uow:
        await existing_client(uow, client_id)
        return await uow.clients.subscriptions_of(client_id)


async def add_one_time_item(uow: InvoicingUnitOfWork, cmd: commands.AddOneTimeItem) -> OneTimeItemRow:
    async with uow:
        await existing_client(uow, cmd.client_id)
        article = await existing_article(uow, cmd.article_code)
        OneTimeItem(  # the rules (domain/articles.py): which kinds, a negative amount only on a credit
            id="new",
            article=domain_article(article),
            quantity=cmd.quantity,
            unit_price=cmd.unit_price,
            label=cmd.label,
            repeat=Repeat(cmd.repeat),
        )
        row = await uow.clients.add_one_time_item(OneTimeItemRow(**asdict(cmd)))
        await uow.commit()
    return row


async def list_one_time_items(uow: InvoicingUnitOfWork, client_id: str) -> Sequence[OneTimeItemRow]:
    async with uow:
        await existing_client(uow, client_id)
        return await uow.clients.one_time_items_of(client_id)


async def set_one_time_item_active(uow: InvoicingUnitOfWork, item_id: str, active: bool) -> OneTimeItemRow:
    async with uow:
        row = await uow.clients.one_time_item(item_id)
        if row is None:
            raise NotFound("one-time item", item_id, "item_id")
        row.active = active
        await uow.clients.save()
        await uow.commit()
    return row


# -- rate plans ------------------------------------------------------------------------------------
async def create_rate_plan(uow: InvoicingUnitOfWork, cmd: commands.CreateRatePlan) -> RatePlanRow:
    async with uow:
        if await uow.catalog.rate_plan(cmd.code) is not None:
            raise Conflict("code", f"a rate plan with code {cmd.code!r} exists")
        for i, rule in enumerate(cmd.rules):
            try:
                Increment.parse(rule.increment)
            except DomainError as exc:
                raise InvalidBillingItem(f"rules.{i}.increment", exc.message) from exc
        row = RatePlanRow(code=cmd.code, rules=[_stored_rule(r) for r in cmd.rules])
        try:
            plan_from_row(row)  # the domain's own checks (a prefix twice for one kind...), before storing
        except DomainError as exc:
            # The domain says 'rules[1].prefix'; the API names fields as 'rules.1.prefix', like pydantic.
            field = re.sub(r"^rules\[(\d+)\]", r"rules.\1", exc.field)
            raise InvalidBillingItem(
                field if field.startswith("rules") else f"rules.{field}", exc.message
            ) from exc
        await uow.catalog.add_rate_plan(row)
        await uow.commit()
    return row


def _stored_rule(rule: commands.RateRuleSpec) -> dict[str, str]:
    """A rule as the plan's JSON keeps it: amounts as strings, exactly as given."""
    return {
        "prefix": rule.prefix,
        "label": rule.label,
        "kind": rule.kind,
        "unit_price": format(rule.unit_price, "f"),
        "connection_fee": format(rule.connection_fee, "f"),
        "increment": rule.increment,
    }


async def list_rate_plans(uow: InvoicingUnitOfWork) -> Sequence[RatePlanRow]:
    async with uow:
        return await uow.catalog.rate_plans()
