"""Billing a chunk of clients in one transaction, each client under its own savepoint.

Every invoice is built first (domain/billing.py `build_invoice`), then numbered and stored together:
the numbering row lock, held from the first number to the commit, covers only the writes, and the
next chunk is read and built meanwhile. A client that fails is rolled back alone (its number given
back, its events dropped), reported, and the others go on. A production chunk locks its clients
before reading them and claims what it bills (adapters/billing_claims.py), so runs of different
periods never bill the same late call record or `once` item.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import structlog
from sqlalchemy.exc import IntegrityError

from ledgerline_invoicing.adapters.billing_inputs import ClientFolder, rated_call
from ledgerline_invoicing.adapters.orm import ArticleRow, ClientRow
from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.domain.billing import OneTimeItem, Repeat, Subscription, build_invoice
from ledgerline_invoicing.domain.consumption import UsageTaxation
from ledgerline_invoicing.domain.period import BillingPeriod
from ledgerline_invoicing.service.folder import domain_article
from ledgerline_invoicing.service.issuing import issue_run_documents, run_document
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_shared.contracts.document import Document, DocumentType

log = structlog.get_logger(__name__)

DEFAULT_USAGE_TAXATION = UsageTaxation(vat_rate=Decimal("20.00"), accounting_account="706300")


@dataclass
class ClientOutcome:
    """What became of one client of a chunk: a document, a skip, or an error, and what to report."""

    document: str | None = None  # the invoice's number, or the preview's id
    skipped: str | None = None
    error: str | None = None
    unrated: list[dict[str, str]] = field(default_factory=list)  # call records kept unrated
    every_cycle_credits: list[dict[str, str]] = field(default_factory=list)  # credits repeated each cycle

    @classmethod
    def failed(cls, exc: BaseException) -> ClientOutcome:
        return cls(error=f"{type(exc).__name__}: {exc}")


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

    def issued(self, document: Document) -> ClientOutcome:
        number = document.number
        return ClientOutcome(
            document=number or str(document.id),
            unrated=self.unrated,
            every_cycle_credits=[c | {"invoice": number} for c in self.every_cycle_credits] if number else [],
        )


class RunTakenOver(Exception):
    """Another instance took the run over (this one's lease had expired): it stops billing it."""


class UsageTaxations:
    """Per run: the catalog's usage article, read once (usage lines are booked under it)."""

    def __init__(self) -> None:
        self._of_run: dict[str, UsageTaxation] = {}

    async def of(self, uow: InvoicingUnitOfWork, run_id: str | None) -> UsageTaxation:
        taxation = self._of_run.get(run_id) if run_id else None
        if taxation is None:
            taxation = await usage_taxation(uow)
            if run_id:
                self._of_run[run_id] = taxation
        return taxation

    def forget(self, run_id: str) -> None:
        self._of_run.pop(run_id, None)


async def usage_taxation(uow: InvoicingUnitOfWork) -> UsageTaxation:
    """Usage lines are booked under the catalog's first `usage` article (by code), if any."""
    row = await uow.catalog.first_usage_article()
    if row is None:
        return DEFAULT_USAGE_TAXATION
    return UsageTaxation(
        vat_rate=Decimal(row.vat_rate), article_code=row.code, accounting_account=row.accounting_account
    )


async def bill_chunk(
    uow: InvoicingUnitOfWork,
    settings: InvoicingSettings,
    taxations: UsageTaxations,
    client_ids: Sequence[str],
    period_text: str,
    mode: str,
    run_id: str | None,
    holder: str | None = None,
) -> dict[str, ClientOutcome]:
    """Bill a chunk of clients in one transaction; each client's outcome, by client id. With
    `holder` (the instance running the run), only while it still holds the run: RunTakenOver if not."""
    period = BillingPeriod.parse(period_text)
    production = mode == "production"
    outcomes: dict[str, ClientOutcome] = {}
    try:
        async with uow:
            if run_id is not None and holder is not None:
                if not (await uow.runs.lease_of(run_id)).held_by(holder):
                    raise RunTakenOver(run_id)
            if production:  # another run (another period) waits here for these clients
                await uow.claims.lock_clients(client_ids)
            folders, articles = await uow.billing_inputs.folders(client_ids, period_text, production)
            taxation = None
            if any(f.calls for f in folders.values()):
                taxation = await taxations.of(uow, run_id)
            ready: list[_ReadyInvoice] = []
            for client_id in client_ids:
                folder = folders.get(client_id)
                if folder is None:
                    outcomes[client_id] = ClientOutcome(error="unknown client")
                    continue
                try:
                    built = _build(
                        settings, folder, articles, period, period_text, production, taxation, run_id
                    )
                except Exception as exc:  # reported, and the other clients go on
                    log.warning("client billing failed", client_id=client_id, error=str(exc))
                    outcomes[client_id] = ClientOutcome.failed(exc)
                    continue
                if isinstance(built, _ReadyInvoice):
                    ready.append(built)
                else:
                    outcomes[client_id] = built
            outcomes |= await _issue_chunk(uow, settings, ready, period_text, run_id)
            await uow.commit()
    except RunTakenOver:
        raise
    except Exception as exc:  # the chunk's transaction itself failed: none of it is billed
        log.warning("chunk billing failed", clients=len(client_ids), error=str(exc))
        return {c: ClientOutcome.failed(exc) for c in client_ids}
    return outcomes


async def _issue_chunk(
    uow: InvoicingUnitOfWork,
    settings: InvoicingSettings,
    ready: list[_ReadyInvoice],
    period_text: str,
    run_id: str | None,
) -> dict[str, ClientOutcome]:
    """Issue the chunk's built invoices together under one savepoint (a block of numbers, a few
    statements); should anything fail, that savepoint gives everything back, numbers and events
    included, and each invoice is issued alone under its own savepoint, so only the failing ones
    are left out."""
    try:
        async with uow.savepoint():
            return await _issue_together(uow, settings, ready, period_text, run_id)
    except Exception as exc:
        log.info(
            "chunk issued one invoice at a time",
            clients=len(ready),
            error=f"{type(exc).__name__}: {exc}"[:300],
        )
    outcomes: dict[str, ClientOutcome] = {}
    for invoice in ready:
        client_id = invoice.client.id
        try:
            async with uow.savepoint():
                outcomes |= await _issue_together(uow, settings, [invoice], period_text, run_id)
        except IntegrityError as exc:
            billed_by = await uow.documents.invoice_of_period(client_id, period_text)
            if billed_by and invoice.document.type is DocumentType.INVOICE:
                # Another run issued this client's invoice between our check and insert.
                outcomes[client_id] = ClientOutcome(skipped="already billed for this period")
            else:  # refused for another reason: an error to report
                log.warning("client billing failed", client_id=client_id, error=str(exc))
                outcomes[client_id] = ClientOutcome.failed(exc)
        except Exception as exc:  # rolled back alone, reported; the others go on
            log.warning("client billing failed", client_id=client_id, error=str(exc))
            outcomes[client_id] = ClientOutcome.failed(exc)
    return outcomes


async def _issue_together(
    uow: InvoicingUnitOfWork,
    settings: InvoicingSettings,
    ready: list[_ReadyInvoice],
    period_text: str,
    run_id: str | None,
) -> dict[str, ClientOutcome]:
    if not ready:
        return {}
    production = ready[0].document.type is DocumentType.INVOICE
    if not production:
        await uow.documents.replace_previews([r.client.id for r in ready], period_text)
    documents = await issue_run_documents(uow, settings, [(r.client, r.document) for r in ready], run_id)
    if production:
        numbers = [d.number or "" for d in documents]
        # Each item gets its own invoice's number; the claims refuse rows another run took.
        await uow.claims.mark_items_billed(
            [
                {"id": item_id, "billed_by": number}
                for invoice, number in zip(ready, numbers, strict=True)
                for item_id in invoice.billed_item_ids
            ]
        )
        await uow.claims.claim_once_items(
            [item_id for invoice in ready for item_id in invoice.consumed_item_ids]
        )
        await uow.claims.claim_unbilled_calls(
            [(invoice.billed_call_ids, n) for invoice, n in zip(ready, numbers, strict=True)]
        )
    return {
        invoice.client.id: invoice.issued(document)
        for invoice, document in zip(ready, documents, strict=True)
    }


def _build(
    settings: InvoicingSettings,
    folder: ClientFolder,
    articles: dict[str, ArticleRow],
    period: BillingPeriod,
    period_text: str,
    production: bool,
    taxation: UsageTaxation | None,
    run_id: str | None,
) -> _ReadyInvoice | ClientOutcome:
    """The client's invoice (or preview) built and checked, not numbered; or why none."""
    client = folder.client
    if production and folder.billed_by:
        if run_id is not None and folder.billed_in_run == run_id:  # this run, before a takeover
            return ClientOutcome(document=folder.billed_by)
        return ClientOutcome(skipped=f"already billed by {folder.billed_by}")
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
    rated = [rated_call(c) for c in calls if c.unratable_reason is None]
    unrated = [
        {"client_id": client.id, "cdr_id": c.cdr_id, "reason": c.unratable_reason or ""}
        for c in calls
        if c.unratable_reason is not None
    ]
    draft = build_invoice(period, subscriptions, items, rated, taxation)
    if draft.is_empty:
        return ClientOutcome(skipped="nothing to bill", unrated=unrated)
    document = run_document(
        settings,
        kind=DocumentType.INVOICE if production else DocumentType.PREVIEW,
        client=client,
        recipients=folder.recipients,
        lines=draft.lines,
        issue_date=dt.date.today() if production else period.last_day,
        period=period_text,
        consumption=draft.consumption,
        run_id=run_id,
        tax_subtotals=draft.tax_subtotals,
        totals=draft.totals,
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
