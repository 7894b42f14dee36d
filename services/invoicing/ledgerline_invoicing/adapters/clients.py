"""Client folders as stored: clients, their contacts, subscriptions and one-time items."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.orm import ClientRow, ContactRow, OneTimeItemRow, SubscriptionRow
from ledgerline_shared.contracts.document import Recipient


class ClientRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # -- clients -----------------------------------------------------------------------------
    async def get(self, client_id: str) -> ClientRow | None:
        return await self._session.get(ClientRow, client_id)

    async def count(self) -> int:
        return await self._session.scalar(select(func.count()).select_from(ClientRow)) or 0

    async def code_taken(self, code: str) -> bool:
        return bool(await self._session.scalar(select(ClientRow.id).where(ClientRow.code == code)))

    async def add(self, client: ClientRow) -> ClientRow:
        self._session.add(client)
        await self._session.flush()  # its id and defaults, for the answer
        return client

    async def save(self) -> None:
        """Write the changes made to rows read here (so a refusal by the database shows now)."""
        await self._session.flush()

    async def search(self, q: str | None, limit: int, offset: int) -> list[ClientRow]:
        query = select(ClientRow).order_by(ClientRow.code).limit(limit).offset(offset)
        if q:
            like = f"%{q.lower()}%"
            query = query.where(
                or_(func.lower(ClientRow.name).like(like), func.lower(ClientRow.code).like(like))
            )
        return list((await self._session.scalars(query)).all())

    async def by_accounts(self, codes: set[str]) -> list[tuple[str, str, str | None]]:
        """(code, id, rate plan code) of the clients whose code is one of the call-record accounts."""
        rows = await self._session.execute(
            select(ClientRow.code, ClientRow.id, ClientRow.rate_plan_code).where(ClientRow.code.in_(codes))
        )
        return [(code, client_id, plan) for code, client_id, plan in rows]

    # -- contacts ----------------------------------------------------------------------------
    async def contact(self, contact_id: str) -> ContactRow | None:
        return await self._session.get(ContactRow, contact_id)

    async def contacts_of(self, client_id: str) -> list[ContactRow]:
        rows = await self._session.scalars(select(ContactRow).where(ContactRow.client_id == client_id))
        return list(rows.all())

    async def add_contact(self, contact: ContactRow) -> ContactRow:
        self._session.add(contact)
        await self._session.flush()
        return contact

    async def invoice_recipients(self, client_id: str) -> list[Recipient]:
        """The contacts flagged invoice_recipient, by name: who a document is e-mailed to."""
        rows = await self._session.scalars(
            select(ContactRow)
            .where(ContactRow.client_id == client_id, ContactRow.invoice_recipient.is_(True))
            .order_by(ContactRow.name)
        )
        return [Recipient(name=c.name, email=c.email) for c in rows.all()]

    # -- subscriptions and one-time items ------------------------------------------------------
    async def subscriptions_of(self, client_id: str) -> Sequence[SubscriptionRow]:
        rows = await self._session.scalars(
            select(SubscriptionRow).where(SubscriptionRow.client_id == client_id)
        )
        return rows.all()

    async def add_subscription(self, subscription: SubscriptionRow) -> SubscriptionRow:
        self._session.add(subscription)
        await self._session.flush()
        return subscription

    async def one_time_item(self, item_id: str) -> OneTimeItemRow | None:
        return await self._session.get(OneTimeItemRow, item_id)

    async def one_time_items_of(self, client_id: str) -> Sequence[OneTimeItemRow]:
        rows = await self._session.scalars(
            select(OneTimeItemRow)
            .where(OneTimeItemRow.client_id == client_id)
            .order_by(OneTimeItemRow.created_at)
        )
        return rows.all()

    async def add_one_time_item(self, item: OneTimeItemRow) -> OneTimeItemRow:
        self._session.add(item)
        await self._session.flush()
        return item
