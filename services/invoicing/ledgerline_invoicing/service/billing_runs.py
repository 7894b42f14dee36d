"""Billing runs (spec section 5): preview (the guide's pre-production) and production.

A run is a job: queued, running, completed (or failed as a whole). Each client is billed in its own
transaction, so one failing client is reported and the others go on. Production is idempotent per
client and period: an invoice already issued for them is skipped (and a unique index on
(client, period) for invoices makes a concurrent second run fail for that client rather than bill
twice).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ledgerline_invoicing.adapters.orm import (
    ArticleRow,
    BillingRunRow,
    CallRecordRow,
    ClientRow,
    DocumentRow,
    OneTimeItemRow,
    SubscriptionRow,
)
from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.domain.billing import (
    Article,
    ArticleKind,
    OneTimeItem,
    Repeat,
    Subscription,
    build_invoice,
)
from ledgerline_invoicing.domain.consumption import UsageTaxation
from ledgerline_invoicing.domain.period import BillingPeriod
from ledgerline_invoicing.domain.rating import CallKind, RatedCall
from ledgerline_invoicing.service.issuing import issue_document
from ledgerline_shared.contracts.document import DocumentType
from ledgerline_shared.runtime import ServiceRuntime

log = structlog.get_logger(__name__)

DEFAULT_USAGE_TAXATION = UsageTaxation(vat_rate=Decimal("20.00"), accounting_account="706300")


def _article(row: ArticleRow) -> Article:
    return Article(
        code=row.code,
        label=row.label,
        kind=ArticleKind(row.kind),
        unit_price=Decimal(row.unit_price),
        vat_rate=Decimal(row.vat_rate),
        accounting_account=row.accounting_account,
    )


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


class BillingRunner:
    """Executes queued runs in the service process, a few clients at a time."""

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

            async def one(client_id: str) -> None:
                nonlocal done
                async with semaphore:
                    try:
                        outcome = await self.bill_client(client_id, period, mode, run_id)
                    except Exception as exc:  # reported, and the other clients go on
                        log.warning("client billing failed", client_id=client_id, error=str(exc))
                        outcome = {"error": f"{type(exc).__name__}: {exc}"}
                async with lock:
                    done += 1
                    if "document" in outcome:
                        documents.append(outcome["document"])
                    if "error" in outcome:
                        errors.append({"client_id": client_id, "error": outcome["error"]})
                    if "skipped" in outcome:
                        skipped.append({"client_id": client_id, "reason": outcome["skipped"]})
                    unrated.extend(outcome.get("unrated", []))
                    every_cycle_credits.extend(outcome.get("every_cycle_credits", []))
                    if done % 50 == 0 or done == len(client_ids):
                        async with sessions() as session, session.begin():
                            await session.execute(
                                update(BillingRunRow).where(BillingRunRow.id == run_id).values(done=done)
                            )

            await asyncio.gather(*(one(c) for c in client_ids))
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

    async def bill_client(self, client_id: str, period_text: str, mode: str, run_id: str) -> dict[str, Any]:
        period = BillingPeriod.parse(period_text)
        production = mode == "production"
        try:
            async with self.runtime.sessions() as session, session.begin():
                return await self._bill_client(session, client_id, period, period_text, production, run_id)
        except IntegrityError:
            # Another run issued this client's invoice for the period between our check and insert.
            return {"skipped": "already billed for this period"}

    async def _bill_client(
        self,
        session: AsyncSession,
        client_id: str,
        period: BillingPeriod,
        period_text: str,
        production: bool,
        run_id: str,
    ) -> dict[str, Any]:
        client = await session.get(ClientRow, client_id)
        if client is None:
            return {"error": "unknown client"}
        if production:
            existing = await session.scalar(
                select(DocumentRow.number).where(
                    DocumentRow.client_id == client_id,
                    DocumentRow.period == period_text,
                    DocumentRow.type == "invoice",
                )
            )
            if existing:
                return {"skipped": f"already billed by {existing}"}
        subscriptions = [
            Subscription(
                id=s.id,
                article=_article(a),
                quantity=Decimal(s.quantity),
                start_date=s.start_date,
                end_date=s.end_date,
                unit_price=Decimal(s.unit_price) if s.unit_price is not None else None,
            )
            for s, a in (
                await session.execute(
                    select(SubscriptionRow, ArticleRow)
                    .join(ArticleRow, ArticleRow.code == SubscriptionRow.article_code)
                    .where(SubscriptionRow.client_id == client_id)
                    .order_by(SubscriptionRow.start_date, SubscriptionRow.id)
                )
            ).all()
        ]
        item_rows = (
            await session.execute(
                select(OneTimeItemRow, ArticleRow)
                .join(ArticleRow, ArticleRow.code == OneTimeItemRow.article_code)
                .where(OneTimeItemRow.client_id == client_id, OneTimeItemRow.active.is_(True))
                .order_by(OneTimeItemRow.created_at, OneTimeItemRow.id)
            )
        ).all()
        items = [
            OneTimeItem(
                id=i.id,
                article=_article(a),
                quantity=Decimal(i.quantity),
                unit_price=Decimal(i.unit_price) if i.unit_price is not None else None,
                label=i.label,
                repeat=Repeat(i.repeat),
                active=i.active,
            )
            for i, a in item_rows
        ]
        # By account and period: the (account, period) index finds the client's records of the month,
        # including those received before the client existed (kept unrated, reported here).
        call_query = select(*_CALL_COLUMNS).where(
            CallRecordRow.account == client.code,
            CallRecordRow.period == period_text,
            CallRecordRow.invoice_number.is_(None),
        )
        calls = (await session.execute(call_query.order_by(CallRecordRow.started_at, CallRecordRow.id))).all()
        rated = [_rated(c) for c in calls if c.unratable_reason is None]
        unrated = [
            {"client_id": client_id, "cdr_id": c.cdr_id, "reason": c.unratable_reason or ""}
            for c in calls
            if c.unratable_reason is not None
        ]
        taxation = None
        if rated:
            taxation = self._taxation.get(run_id) if run_id else None
            if taxation is None:
                taxation = await usage_taxation(session)
                if run_id:
                    self._taxation[run_id] = taxation
        draft = build_invoice(period, subscriptions, items, rated, taxation)
        if draft.is_empty:
            return {"skipped": "nothing to bill", "unrated": unrated}
        kind = DocumentType.INVOICE if production else DocumentType.PREVIEW
        if not production:
            # Re-running a preview replaces the client's previews of the period.
            await session.execute(
                delete(DocumentRow).where(
                    DocumentRow.client_id == client_id,
                    DocumentRow.period == period_text,
                    DocumentRow.type == "preview",
                )
            )
        row, _document = await issue_document(
            session,
            self.runtime,
            self.settings,
            kind=kind,
            client=client,
            lines=draft.lines,
            issue_date=dt.date.today() if production else period.last_day,
            period=period_text,
            consumption=draft.consumption,
            run_id=run_id,
        )
        credits = [
            {
                "client_id": client_id,
                "item_id": i.id,
                "label": i.label or a.label,
                "invoice": row.number or "",
            }
            for i, a in item_rows
            if a.kind == "credit_note" and i.repeat == "every_cycle"
        ]
        if production:
            number = row.number
            consumed = set(draft.consumed_item_ids)
            for item, _article_row in item_rows:
                if item.id in draft.billed_item_ids:
                    item.billed_by = number
                    if item.id in consumed:
                        item.active = False  # repeat: once — never billed twice by oversight
            # Exactly the records billed (a record arriving meanwhile waits for the next cycle);
            # in chunks, as SQLite limits the parameters of one statement.
            wanted = set(draft.rated_cdr_ids)
            billed = [c.id for c in calls if c.cdr_id in wanted]
            for start in range(0, len(billed), 1000):
                await session.execute(
                    update(CallRecordRow)
                    .where(CallRecordRow.id.in_(billed[start : start + 1000]))
                    .values(invoice_number=number)
                )
        return {
            "document": row.number or row.id,
            "unrated": unrated,
            "every_cycle_credits": credits if production else [],
        }
