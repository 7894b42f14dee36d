"""What a billing run reads to bill a chunk of clients: their folders, in a few set queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.orm import (
    ArticleRow,
    CallRecordRow,
    ClientRow,
    ContactRow,
    DocumentRow,
    OneTimeItemRow,
    SubscriptionRow,
)
from ledgerline_invoicing.domain.rating import RatedCall, billed_units
from ledgerline_shared.contracts.document import Recipient
from ledgerline_shared.contracts.events import CallKind


class StoredCall(NamedTuple):
    """A call record as billing reads it: these columns of call_records, by name.

    A plain tuple, not SQLAlchemy's Row: a Row's attribute is looked up by name at each access
    (about 1 µs, 20 times an index), and a run reads some 14 of them for each of its call records."""

    account: str
    id: int
    cdr_id: str
    kind: str
    destination: str | None
    prefix: str | None
    unit_price: Decimal | None
    duration_s: int | None
    billable_s: int | None
    units: Decimal | None
    connection_fee: Decimal | None
    cost: Decimal | None
    unratable_reason: str | None


# Only what billing reads of a call record, as plain rows (no ORM objects: a run reads millions),
# selected in StoredCall's order.
_CALL_COLUMNS = tuple(getattr(CallRecordRow, name) for name in StoredCall._fields)


_KINDS = {kind.value: kind for kind in CallKind}  # CallKind(text) is an enum call per record
_ZERO = Decimal(0)


def rated_call(row: Any) -> RatedCall:
    """A stored call record as the billing rules see it.

    Runs once per call record of a run: the numeric columns are taken as the Decimals SQLAlchemy's
    Numeric gives (no copy), the kind by a dict look-up."""
    kind = _KINDS.get(row.kind) or CallKind(row.kind)  # an unknown kind: the enum's ValueError
    unit_price, units, fee, cost = row.unit_price, row.units, row.connection_fee, row.cost
    return RatedCall(
        row.cdr_id,
        kind,
        row.destination or "",
        row.prefix or "",
        _ZERO if unit_price is None else unit_price,
        row.duration_s or 0,
        row.billable_s or 0,
        # The stored units are the record's own: an SMS record without any was rated as one message.
        billed_units(kind, units),
        _ZERO if fee is None else fee,
        _ZERO if cost is None else cost,
    )


@dataclass
class ClientFolder:
    """What billing reads of one client, read for a whole chunk of clients at once."""

    client: ClientRow
    recipients: list[Recipient] = field(default_factory=list)
    subscriptions: list[Any] = field(default_factory=list)  # rows: subscription columns + article_code
    items: list[Any] = field(default_factory=list)  # rows: active one-time items
    calls: list[StoredCall] = field(default_factory=list)  # by started_at then id
    billed_by: str | None = None  # the invoice already issued for the period (production)
    billed_in_run: str | None = None  # the run that issued it


class BillingInputs:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def folders(
        self, client_ids: Sequence[str], period_text: str, production: bool
    ) -> tuple[dict[str, ClientFolder], dict[str, ArticleRow]]:
        """The folders of a chunk of clients in six queries, whatever the chunk's size (and the
        articles they use): a query per client and kind of data was most of a run's time."""
        session = self._session
        clients = (await session.scalars(select(ClientRow).where(ClientRow.id.in_(client_ids)))).all()
        folders = {c.id: ClientFolder(c) for c in clients}
        if not folders:
            return folders, {}
        ids = list(folders)
        if production:
            for client_id, number, run_id in await session.execute(
                select(DocumentRow.client_id, DocumentRow.number, DocumentRow.run_id).where(
                    DocumentRow.client_id.in_(ids),
                    DocumentRow.period == period_text,
                    DocumentRow.type == "invoice",
                )
            ):
                folders[client_id].billed_by = number
                folders[client_id].billed_in_run = run_id
        for client_id, name, email in await session.execute(
            select(ContactRow.client_id, ContactRow.name, ContactRow.email)
            .where(ContactRow.client_id.in_(ids), ContactRow.invoice_recipient.is_(True))
            .order_by(ContactRow.name, ContactRow.id)
        ):
            # Checked when written (the contact's schemas apply the same rule, and no other path
            # writes contacts); notification checks again before any message. Not re-checked
            # here: the address check parses each address with the standard library's header
            # parser, 1.4 s of a 1,000-client run's 9.5 s of CPU.
            folders[client_id].recipients.append(Recipient.model_construct(name=name, email=email))
        for sub in await session.execute(
            select(SubscriptionRow.__table__)
            .where(SubscriptionRow.client_id.in_(ids))
            .order_by(SubscriptionRow.start_date, SubscriptionRow.id)
        ):
            folders[sub.client_id].subscriptions.append(sub)
        for item in await session.execute(
            select(OneTimeItemRow.__table__)
            .where(OneTimeItemRow.client_id.in_(ids), OneTimeItemRow.active.is_(True))
            .order_by(OneTimeItemRow.created_at, OneTimeItemRow.id)
        ):
            folders[item.client_id].items.append(item)
        codes = {s.article_code for f in folders.values() for s in f.subscriptions}
        codes |= {i.article_code for f in folders.values() for i in f.items}
        articles = {
            a.code: a
            for a in (await session.scalars(select(ArticleRow).where(ArticleRow.code.in_(codes)))).all()
        }
        # By account and period: the (account, period) index finds the clients' records of the month,
        # including those received before the client existed (kept unrated, reported by the run), and
        # any earlier month's record still unbilled: one that arrived after its month was invoiced is
        # billed by the next cycle instead of never.
        by_code = {f.client.code: f for f in folders.values()}
        stored = StoredCall._make
        for row in await session.execute(
            select(*_CALL_COLUMNS)
            .where(
                CallRecordRow.account.in_(list(by_code)),
                CallRecordRow.period <= period_text,
                CallRecordRow.invoice_number.is_(None),
            )
            .order_by(CallRecordRow.account, CallRecordRow.started_at, CallRecordRow.id)
        ):
            call = stored(row)
            by_code[call.account].calls.append(call)
        return folders, articles
