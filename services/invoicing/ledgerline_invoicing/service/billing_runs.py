"""Billing runs (spec section 5): preview (the guide's pre-production) and production.

A run is a job: queued, running, completed (or failed as a whole). Clients are billed by chunks, one
transaction per chunk and a savepoint per client, so one failing client is rolled back alone (its
number given back), reported, and the others go on. Production is idempotent per
client and period: an invoice already issued for them is skipped (and a unique index on
(client, period) for invoices makes a concurrent second run fail for that client rather than bill
twice). Runs of different periods never bill the same late call record or `once` item: a production
chunk locks its clients before reading them, and claims what it bills (adapters/billing_claims).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.billing_claims import (
    claim_once_items,
    claim_unbilled_calls,
    lock_clients_for_billing,
    mark_items_billed,
)
from ledgerline_invoicing.adapters.orm import (
    ArticleRow,
    BillingRunRow,
    CallRecordRow,
    ClientRow,
    ContactRow,
    DocumentRow,
    OneTimeItemRow,
    SubscriptionRow,
)
from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.domain.billing import (
    OneTimeItem,
    Repeat,
    Subscription,
    build_invoice,
)
from ledgerline_invoicing.domain.consumption import UsageTaxation
from ledgerline_invoicing.domain.period import BillingPeriod
from ledgerline_invoicing.domain.rating import CallKind, RatedCall
from ledgerline_invoicing.service import run_approval
from ledgerline_invoicing.service.folder import domain_article
from ledgerline_invoicing.service.issuing import issue_run_documents, run_document
from ledgerline_shared.contracts.document import Document, DocumentType, Recipient
from ledgerline_shared.runtime import ServiceRuntime

log = structlog.get_logger(__name__)

DEFAULT_USAGE_TAXATION = UsageTaxation(vat_rate=Decimal("20.00"), accounting_account="706300")


# Only what billing reads of a call record, as plain rows (no ORM objects: a run reads millions).
_CALL_COLUMNS = (
    CallRecordRow.id,
    CallRecordRow.cdr_id,
    CallRecordRow.kind,
    CallRecordRow.destination,
    CallRecordRow.prefix,
    CallRecordRow.unit_price,
    CallRecordRow.duration_s,
    CallRecordRow.billable_s,
    CallRecordRow.units,
    CallRecordRow.connection_fee,
    CallRecordRow.cost,
    CallRecordRow.unratable_reason,
)


def _rated(row: Any) -> RatedCall:
    return RatedCall(
        cdr_id=row.cdr_id,
        kind=CallKind(row.kind),
        label=row.destination or "",
        prefix=row.prefix or "",
        unit_price=Decimal(row.unit_price or 0),
        duration_s=row.duration_s or 0,
        billable_s=row.billable_s or 0,
        units=Decimal(row.units or 0),
        connection_fee=Decimal(row.connection_fee or 0),
        cost=Decimal(row.cost or 0),
    )


async def usage_taxation(session: AsyncSession) -> UsageTaxation:
    """Usage lines are booked under the catalog's first `usage` article (by code), if any."""
    row = await session.scalar(select(ArticleRow).where(ArticleRow.kind == "usage").order_by(ArticleRow.code))
    if row is None:
        return DEFAULT_USAGE_TAXATION
    return UsageTaxation(
        vat_rate=Decimal(row.vat_rate), article_code=row.code, accounting_account=row.accounting_account
    )


def run_out(run: BillingRunRow) -> dict[str, Any]:
    return {
        "id": run.id,
        "period": run.period,
        "mode": run.mode,
        "status": run.status,
        "progress": {"done": run.done, "total": run.total},
        "documents": run.documents,
        "errors": run.errors,
        "report": run.report,
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


async def create_run(
    session: AsyncSession, period: str, mode: str, client_ids: list[str] | None, requested_by: str | None
) -> BillingRunRow:
    BillingPeriod.parse(period)
    run = BillingRunRow(
        period=period,
        mode=mode,
        client_ids=client_ids,
        requested_by=requested_by,
        documents=[],
        errors=[],
        report={},
    )
    session.add(run)
    await session.flush()
    return run


# Clients billed in one transaction. A chunk's data is read in a few queries, and its clients are
# issued one savepoint each; the transaction holds the numbering row lock from its first number to
# its commit, so a chunk must stay short enough for other issuers (a credit note) not to wait long.
CLIENTS_PER_CHUNK = 200


@dataclass
class _Folder:
    """What billing reads of one client, read for a whole chunk of clients at once."""

    client: ClientRow
    recipients: list[Recipient] = field(default_factory=list)
    subscriptions: list[Any] = field(default_factory=list)  # rows: subscription columns + article_code
    items: list[Any] = field(default_factory=list)  # rows: active one-time items
    calls: list[Any] = field(default_factory=list)  # rows of _CALL_COLUMNS, by started_at then id
    billed_by: str | None = None  # the invoice already issued for the period (production)


async def _read_folders(
    session: AsyncSession, client_ids: Sequence[str], period_text: str, production: bool
) -> tuple[dict[str, _Folder], dict[str, ArticleRow]]:
    """The folders of a chunk of clients in six queries, whatever the chunk's size (and the
    articles they use): a query per client and kind of data was most of a run's time."""
    clients = (await session.scalars(select(ClientRow).where(ClientRow.id.in_(client_ids)))).all()
    folders = {c.id: _Folder(c) for c in clients}
    if not folders:
        return folders, {}
    ids = list(folders)
    if production:
        for client_id, number in await session.execute(
            select(DocumentRow.client_id, DocumentRow.number).where(
                DocumentRow.client_id.in_(ids),
                DocumentRow.period == period_text,
                DocumentRow.type == "invoice",
            )
        ):
            folders[client_id].billed_by = number
    for client_id, name, email in await session.execute(
        select(ContactRow.client_id, ContactRow.name, ContactRow.email)
        .where(ContactRow.client_id.in_(ids), ContactRow.invoice_recipient.is_(True))
        .order_by(ContactRow.name, ContactRow.id)
    ):
        folders[client_id].recipients.append(Recipient(name=name, email=email))
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
        a.code: a for a in (await session.scalars(select(ArticleRow).where(ArticleRow.code.in_(codes)))).all()
    }
    # By account and period: the (account, period) index finds the clients' records of the month,
    # including those received before the client existed (kept unrated, reported by the run), and
    # any earlier month's record still unbilled: one that arrived after its month was invoiced is
    # billed by the next cycle instead of never.
    by_code = {f.client.code: f for f in folders.values()}
    for call in await session.execute(
        select(CallRecordRow.account, *_CALL_COLUMNS)
        .where(
            CallRecordRow.account.in_(list(by_code)),
            CallRecordRow.period <= period_text,
            CallRecordRow.invoice_number.is_(None),
        )
        .order_by(CallRecordRow.account, CallRecordRow.started_at, CallRecordRow.id)
    ):
        by_code[call.account].calls.append(call)
    return folders, articles


@dataclass
class _ReadyInvoice:
    """A client's invoice or preview, built and checked, waiting for its number."""

    client: ClientRow
    document: Document
    billed_item_ids: list[str]
    consumed_item_ids: list[str]
    billed_call_ids: list[int]
    unrated: list[dict[str, str]]
    every_cycle_credits: list[dict[str, str]]  # the invoice number is added once known


class BillingRunner:
    """Executes queued runs in the service process, a few chunks of clients at a time."""

    def __init__(self, runtime: ServiceRuntime, settings: InvoicingSettings) -> None:
        self.runtime = runtime
        self.settings = settings
        self._running: dict[str, asyncio.Task[None]] = {}
        self._taxation: dict[str, UsageTaxation] = {}  # per run: the catalog's usage article, read once

    def start(self, run_id: str) -> None:
        if run_id not in self._running:
            task = asyncio.create_task(self.execute(run_id), name=f"billing-run-{run_id}")
            self._running[run_id] = task
            task.add_done_callback(lambda _t: self._running.pop(run_id, None))

    async def resume_unfinished(self) -> None:
        """After a restart: runs left queued or running are taken up again (billing is idempotent)."""
        async with self.runtime.sessions() as session:
            ids = (
                await session.scalars(
                    select(BillingRunRow.id).where(BillingRunRow.status.in_(["queued", "running"]))
                )
            ).all()
        for run_id in ids:
            self.start(run_id)

    async def wait(self, run_id: str) -> None:
        task = self._running.get(run_id)
        if task is not None:
            await task

    async def execute(self, run_id: str) -> None:
        sessions = self.runtime.sessions
        # Four eyes (issue 15, service/run_approval.py): a queued production run whose approval no
        # longer stands fails with the reason, billing nothing.
        if await run_approval.refuse_unapproved_start(self.runtime, self.settings, run_id):
            return
        try:
            async with sessions() as session, session.begin():
                run = await session.get(BillingRunRow, run_id)
                if run is None:
                    return
                period, mode, wanted = run.period, run.mode, run.client_ids
                query = select(ClientRow.id).order_by(ClientRow.code)
                if wanted:
                    query = query.where(ClientRow.id.in_(wanted))
                client_ids = list((await session.scalars(query)).all())
                unknown = sorted(set(wanted or []) - set(client_ids))
                run.status = "running"
                run.total = len(client_ids)
                run.done = 0
                run.errors = [{"client_id": c, "error": "unknown client"} for c in unknown]
            documents: list[str] = []
            errors: list[dict[str, str]] = list(run.errors)
            skipped: list[dict[str, str]] = []
            unrated: list[dict[str, str]] = []
            every_cycle_credits: list[dict[str, str]] = []
            done = 0
            semaphore = asyncio.Semaphore(max(1, self.settings.billing_workers))
            lock = asyncio.Lock()

            async def one(chunk: list[str]) -> None:
                nonlocal done
                async with semaphore:
                    outcomes = await self.bill_chunk(chunk, period, mode, run_id)
                async with lock:
                    for client_id in chunk:
                        outcome = outcomes[client_id]
                        if "document" in outcome:
                            documents.append(outcome["document"])
                        if "error" in outcome:
                            errors.append({"client_id": client_id, "error": outcome["error"]})
                        if "skipped" in outcome:
                            skipped.append({"client_id": client_id, "reason": outcome["skipped"]})
                        unrated.extend(outcome.get("unrated", []))
                        every_cycle_credits.extend(outcome.get("every_cycle_credits", []))
                    done += len(chunk)
                    async with sessions() as session, session.begin():
                        await session.execute(
                            update(BillingRunRow).where(BillingRunRow.id == run_id).values(done=done)
                        )

            chunks = [
                client_ids[start : start + CLIENTS_PER_CHUNK]
                for start in range(0, len(client_ids), CLIENTS_PER_CHUNK)
            ]
            await asyncio.gather(*(one(chunk) for chunk in chunks))
            self._taxation.pop(run_id, None)
            async with sessions() as session, session.begin():
                await session.execute(
                    update(BillingRunRow)
                    .where(BillingRunRow.id == run_id)
                    .values(
                        status="completed",
                        done=done,
                        documents=documents,
                        errors=errors,
                        report={
                            "skipped": skipped,
                            "unrated_call_records": unrated,
                            "every_cycle_credit_notes": every_cycle_credits,
                        },
                        finished_at=dt.datetime.now(dt.UTC),
                    )
                )
            self.runtime.relay.wake()
        except Exception as exc:
            log.error("billing run failed", run_id=run_id, error=str(exc))
            async with sessions() as session, session.begin():
                await session.execute(
                    update(BillingRunRow)
                    .where(BillingRunRow.id == run_id)
                    .values(
                        status="failed",
                        errors=[{"error": f"{type(exc).__name__}: {exc}"}],
                        finished_at=dt.datetime.now(dt.UTC),
                    )
                )

    async def bill_client(
        self, client_id: str, period_text: str, mode: str, run_id: str | None
    ) -> dict[str, Any]:
        """One client in its own transaction."""
        return (await self.bill_chunk([client_id], period_text, mode, run_id))[client_id]

    async def bill_chunk(
        self, client_ids: Sequence[str], period_text: str, mode: str, run_id: str | None
    ) -> dict[str, dict[str, Any]]:
        """Bill a chunk of clients in one transaction, each under its own savepoint: a client that
        fails is rolled back alone (its number given back), reported, and the others go on.

        Every invoice is built first, then numbered and stored: the numbering row lock, held from
        the first number to the commit, covers only the writes, and the next chunk is read and
        built meanwhile. Returns each client's outcome: {"document"} or {"skipped"} or {"error"},
        with "unrated" records and "every_cycle_credits" to report.
        """
        period = BillingPeriod.parse(period_text)
        production = mode == "production"
        outcomes: dict[str, dict[str, Any]] = {}
        try:
            async with self.runtime.sessions() as session, session.begin():
                if production:  # another run (another period) waits here for these clients
                    await lock_clients_for_billing(session, client_ids)
                folders, articles = await _read_folders(session, client_ids, period_text, production)
                taxation = None
                if any(f.calls for f in folders.values()):
                    taxation = await self._taxation_of(session, run_id)
                ready: list[_ReadyInvoice] = []
                for client_id in client_ids:
                    folder = folders.get(client_id)
                    if folder is None:
                        outcomes[client_id] = {"error": "unknown client"}
                        continue
                    try:
                        built = self._build(
                            folder, articles, period, period_text, production, taxation, run_id
                        )
                    except Exception as exc:  # reported, and the other clients go on
                        log.warning("client billing failed", client_id=client_id, error=str(exc))
                        outcomes[client_id] = {"error": f"{type(exc).__name__}: {exc}"}
                        continue
                    if isinstance(built, _ReadyInvoice):
                        ready.append(built)
                    else:
                        outcomes[client_id] = built
                outcomes.update(await self._issue_chunk(session, ready, period_text, run_id))
        except Exception as exc:  # the chunk's transaction itself failed: none of it is billed
            log.warning("chunk billing failed", clients=len(client_ids), error=str(exc))
            return {c: {"error": f"{type(exc).__name__}: {exc}"} for c in client_ids}
        return outcomes

    async def _issue_chunk(
        self, session: AsyncSession, ready: list[_ReadyInvoice], period_text: str, run_id: str | None
    ) -> dict[str, dict[str, Any]]:
        """Issue the chunk's built invoices together under one savepoint (a block of numbers, a few
        statements); should anything fail, that savepoint gives everything back, numbers included,
        and each invoice is issued alone under its own savepoint, so only the failing ones are
        left out."""
        try:
            async with session.begin_nested():
                return await self._issue_together(session, ready, period_text, run_id)
        except Exception as exc:
            log.info(
                "chunk issued one invoice at a time",
                clients=len(ready),
                error=f"{type(exc).__name__}: {exc}"[:300],
            )
        outcomes: dict[str, dict[str, Any]] = {}
        for invoice in ready:
            client_id = invoice.client.id
            try:
                async with session.begin_nested():
                    outcomes.update(await self._issue_together(session, [invoice], period_text, run_id))
            except IntegrityError as exc:
                billed_by = await session.scalar(
                    select(DocumentRow.number).where(
                        DocumentRow.client_id == client_id,
                        DocumentRow.period == period_text,
                        DocumentRow.type == "invoice",
                    )
                )
                if billed_by and invoice.document.type is DocumentType.INVOICE:
                    # Another run issued this client's invoice between our check and insert.
                    outcomes[client_id] = {"skipped": "already billed for this period"}
                else:  # refused for another reason: an error to report
                    log.warning("client billing failed", client_id=client_id, error=str(exc))
                    outcomes[client_id] = {"error": f"{type(exc).__name__}: {exc}"}
            except Exception as exc:  # rolled back alone, reported; the others go on
                log.warning("client billing failed", client_id=client_id, error=str(exc))
                outcomes[client_id] = {"error": f"{type(exc).__name__}: {exc}"}
        return outcomes

    async def _issue_together(
        self, session: AsyncSession, ready: list[_ReadyInvoice], period_text: str, run_id: str | None
    ) -> dict[str, dict[str, Any]]:
        if not ready:
            return {}
        production = ready[0].document.type is DocumentType.INVOICE
        if not production:
            # Re-running a preview replaces the clients' previews of the period.
            await session.execute(
                delete(DocumentRow).where(
                    DocumentRow.client_id.in_([r.client.id for r in ready]),
                    DocumentRow.period == period_text,
                    DocumentRow.type == "preview",
                )
            )
        documents = await issue_run_documents(
            session, self.runtime, self.settings, [(r.client, r.document) for r in ready], run_id
        )
        if production:
            numbers = [d.number or "" for d in documents]
            # Each item gets its own invoice's number; the claims refuse rows another run took.
            await mark_items_billed(
                session,
                [
                    {"id": item_id, "billed_by": number}
                    for invoice, number in zip(ready, numbers, strict=True)
                    for item_id in invoice.billed_item_ids
                ],
            )
            await claim_once_items(
                session, [item_id for invoice in ready for item_id in invoice.consumed_item_ids]
            )
            await claim_unbilled_calls(
                session, [(invoice.billed_call_ids, n) for invoice, n in zip(ready, numbers, strict=True)]
            )
        return {
            invoice.client.id: _issued(invoice, document)
            for invoice, document in zip(ready, documents, strict=True)
        }

    async def _taxation_of(self, session: AsyncSession, run_id: str | None) -> UsageTaxation:
        taxation = self._taxation.get(run_id) if run_id else None
        if taxation is None:
            taxation = await usage_taxation(session)
            if run_id:
                self._taxation[run_id] = taxation
        return taxation

    def _build(
        self,
        folder: _Folder,
        articles: dict[str, ArticleRow],
        period: BillingPeriod,
        period_text: str,
        production: bool,
        taxation: UsageTaxation | None,
        run_id: str | None,
    ) -> _ReadyInvoice | dict[str, Any]:
        """The client's invoice (or preview) built and checked, not numbered; or why none."""
        client = folder.client
        if production and folder.billed_by:
            return {"skipped": f"already billed by {folder.billed_by}"}
        subscriptions = [
            Subscription(
                id=s.id,
                article=domain_article(articles[s.article_code]),
                quantity=Decimal(s.quantity),
                start_date=s.start_date,
                end_date=s.end_date,
                unit_price=Decimal(s.unit_price) if s.unit_price is not None else None,
            )
            for s in folder.subscriptions
        ]
        items = [
            OneTimeItem(
                id=i.id,
                article=domain_article(articles[i.article_code]),
                quantity=Decimal(i.quantity),
                unit_price=Decimal(i.unit_price) if i.unit_price is not None else None,
                label=i.label,
                repeat=Repeat(i.repeat),
                active=i.active,
            )
            for i in folder.items
        ]
        calls = folder.calls
        rated = [_rated(c) for c in calls if c.unratable_reason is None]
        unrated = [
            {"client_id": client.id, "cdr_id": c.cdr_id, "reason": c.unratable_reason or ""}
            for c in calls
            if c.unratable_reason is not None
        ]
        draft = build_invoice(period, subscriptions, items, rated, taxation)
        if draft.is_empty:
            return {"skipped": "nothing to bill", "unrated": unrated}
        document = run_document(
            self.settings,
            kind=DocumentType.INVOICE if production else DocumentType.PREVIEW,
            client=client,
            recipients=folder.recipients,
            lines=draft.lines,
            issue_date=dt.date.today() if production else period.last_day,
            period=period_text,
            consumption=draft.consumption,
            run_id=run_id,
        )
        wanted = set(draft.rated_cdr_ids)
        return _ReadyInvoice(
            client=client,
            document=document,
            billed_item_ids=list(draft.billed_item_ids),
            consumed_item_ids=list(draft.consumed_item_ids),
            billed_call_ids=[c.id for c in calls if c.cdr_id in wanted],
            unrated=unrated,
            every_cycle_credits=[
                {"client_id": client.id, "item_id": i.id, "label": i.label or articles[i.article_code].label}
                for i in folder.items
                if articles[i.article_code].kind == "credit_note" and i.repeat == "every_cycle"
            ],
        )


def _issued(invoice: _ReadyInvoice, document: Document) -> dict[str, Any]:
    number = document.number
    return {
        "document": number or str(document.id),
        "unrated": invoice.unrated,
        "every_cycle_credits": [c | {"invoice": number or ""} for c in invoice.every_cycle_credits]
        if number
        else [],
    }
