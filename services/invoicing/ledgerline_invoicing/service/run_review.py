"""The review of a preview run (issue 15): every preview flagged, the report, its CSV rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from ledgerline_invoicing.adapters.orm import BillingRunRow
from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.domain.money import line_net
from ledgerline_invoicing.domain.period import BillingPeriod
from ledgerline_invoicing.domain.run_review import (
    CENT,
    FlagCode,
    LineAmount,
    PastInvoice,
    PreviewFacts,
    PreviewReview,
    ReviewThresholds,
    RunReview,
    compare_totals,
    flag_preview,
    previous_period,
)
from ledgerline_invoicing.service.errors import Conflict, NotFound
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork
from ledgerline_shared.contracts.document import LineKind


def thresholds_of(settings: InvoicingSettings) -> ReviewThresholds:
    return ReviewThresholds(
        total_change_share=settings.review_total_change_share,
        total_change_amount=settings.review_total_change_amount,
        usage_multiple=settings.review_usage_multiple,
        usage_cycles=settings.review_usage_cycles,
        first_invoice_amount=settings.review_first_invoice_amount,
        blocking=frozenset(settings.review_blocking_flags),
    )


async def reviewable_run(uow: InvoicingUnitOfWork, run_id: str) -> BillingRunRow:
    """A completed preview run, in the open unit of work."""
    run = await uow.runs.get(run_id)
    if run is None:
        raise NotFound("billing run", run_id, "run_id")
    if run.mode != "preview":
        raise Conflict(
            "run_id", f"run {run_id} is a {run.mode} run: only a preview run is reviewed and approved"
        )
    if run.status != "completed":
        raise Conflict("run_id", f"run {run_id} is {run.status}: a preview run is reviewed once completed")
    return run


def _lines(body: str, currency: str) -> tuple[list[LineAmount], Decimal]:
    """A stored document's lines (plain JSON, faster than the full model) and its usage net."""
    lines = [
        LineAmount(currency, line["kind"], Decimal(line["vat_rate"]), Decimal(line["net_amount"]))
        for line in json.loads(body)["lines"]
    ]
    usage = sum((line.net for line in lines if line.family == LineKind.USAGE), Decimal("0.00"))
    return lines, usage


async def review_run(uow: InvoicingUnitOfWork, settings: InvoicingSettings, run: BillingRunRow) -> RunReview:
    """Every preview of the run flagged (domain/run_review.py), in the open unit of work."""
    queries = uow.review
    thresholds = thresholds_of(settings)
    period = BillingPeriod.parse(run.period)
    subscriptions = await queries.active_subscriptions(run.id, period.first_day, period.last_day)
    calls = await queries.period_call_records(run.id, run.period)
    recipients = await queries.invoice_recipients(run.id)
    credits = await queries.every_cycle_credits(run.id)
    history = await queries.past_invoices(run.id, run.period, thresholds.usage_cycles)
    unrated: dict[str, int] = {}
    left_out: list[dict[str, str]] = (run.report or {}).get("unrated_call_records", [])  # type: ignore[assignment]
    for record in left_out:  # the records the run kept unrated
        unrated[record["client_id"]] = unrated.get(record["client_id"], 0) + 1

    reviews: list[PreviewReview] = []
    current: list[LineAmount] = []
    # The previous period's invoices are in the clients' history too: each stored body parsed once.
    parsed: dict[str, tuple[list[LineAmount], Decimal]] = {}
    for row in await queries.run_previews(run.id):
        lines, usage = _lines(row.body, row.currency)
        current.extend(lines)
        facts = PreviewFacts(
            document_id=row.id,
            client_id=row.client_id,
            client_code=row.client_code,
            client_name=row.client_name,
            period=run.period,
            currency=row.currency,
            gross_total=Decimal(row.gross_total),
            usage_net=usage,
            active_subscriptions=subscriptions.get(row.client_id, 0),
            call_records=calls.get(row.client_id, 0),
            unrated_call_records=unrated.get(row.client_id, 0),
            invoice_recipients=recipients.get(row.client_id, 0),
            every_cycle_credits=tuple(line_net(q, p) for q, p in credits.get(row.client_id, [])),
        )
        past = []
        for p in history.get(row.client_id, []):
            parsed[p.number] = _lines(p.body, p.currency)
            past.append(
                PastInvoice(p.number, p.period, p.currency, Decimal(p.gross_total), parsed[p.number][1])
            )
        reviews.append(flag_preview(facts, past, thresholds))

    previous_run, invoices = await queries.period_invoices(str(previous_period(period)))
    previous = [
        line
        for number, currency, body in invoices
        for line in (parsed.get(number) or _lines(body, currency))[0]
    ]
    return RunReview(tuple(reviews), compare_totals(current, previous), previous_run)


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):f}"


def flag_out(review: PreviewReview) -> dict[str, Any]:
    facts = review.facts
    return {
        "document_id": facts.document_id,
        "client_id": facts.client_id,
        "client_code": facts.client_code,
        "client_name": facts.client_name,
        "currency": facts.currency,
        "gross_total": _money(facts.gross_total),
        "impact": _money(review.impact),
        "last_invoice": None
        if review.last_invoice is None
        else {
            "number": review.last_invoice.number,
            "period": review.last_invoice.period,
            "currency": review.last_invoice.currency,
            "gross_total": _money(review.last_invoice.gross_total),
        },
        "flags": [
            {
                "code": flag.code.value,
                "sentence": flag.sentence,
                "blocking": flag.blocking,
                "impact": _money(flag.impact),
                "figures": dict(flag.figures),
            }
            for flag in review.flags
        ],
    }


def review_out(
    run: BillingRunRow,
    review: RunReview,
    *,
    flag: FlagCode | None = None,
    page: int = 1,
    page_size: int = 100,
) -> dict[str, Any]:
    """The report: counts per flag, the flagged previews by impact (a page, optionally of one flag),
    and the run's totals against the previous period's production per family and VAT rate."""
    flagged = review.flagged
    if flag is not None:
        flagged = [r for r in flagged if any(f.code is flag for f in r.flags)]
    start = (page - 1) * page_size
    return {
        "run_id": run.id,
        "period": run.period,
        "started_by": run.requested_by,
        "previews": len(review.previews),
        "flagged_previews": len(review.flagged),
        "counts": {code.value: count for code, count in review.counts.items()},
        "blocking_flags": sorted(code.value for code in review.blocking_codes),
        "flagged": {
            "flag": flag.value if flag else None,
            "total": len(flagged),
            "page": page,
            "page_size": page_size,
            "items": [flag_out(r) for r in flagged[start : start + page_size]],
        },
        "totals_against_previous_period": {
            "previous_period": str(previous_period(BillingPeriod.parse(run.period))),
            "previous_run_id": review.previous_run_id,
            "rows": [
                {
                    "currency": t.currency,
                    "family": t.family,
                    "vat_rate": f"{t.vat_rate:.2f}",
                    "net": _money(t.current),
                    "previous_net": _money(t.previous),
                    "change": _money(t.change),
                    "change_percent": None
                    if t.change_share is None
                    else f"{(t.change_share * 100).quantize(Decimal('0.1')):f}",
                }
                for t in review.totals
            ],
        },
    }


CSV_COLUMNS = (
    "client_code",
    "client_name",
    "document_id",
    "currency",
    "gross_total",
    "impact",
    "flag",
    "blocking",
    "flag_impact",
    "sentence",
)


def review_csv_rows(review: RunReview) -> Iterator[list[str | Decimal]]:
    """One row per flag of a flagged preview, the previews by impact; amounts as Decimal (numbers,
    never text), text not yet neutralised."""
    for preview in review.flagged:
        facts = preview.facts
        for flag in preview.flags:
            yield [
                facts.client_code,
                facts.client_name,
                facts.document_id,
                facts.currency,
                facts.gross_total.quantize(CENT),
                preview.impact,
                flag.code.value,
                "yes" if flag.blocking else "no",
                flag.impact,
                flag.sentence,
            ]


async def review_for_csv(
    uow: InvoicingUnitOfWork, settings: InvoicingSettings, run_id: str
) -> tuple[BillingRunRow, RunReview]:
    """A completed preview run and its review (the CSV download)."""
    async with uow:
        run = await reviewable_run(uow, run_id)
        return run, await review_run(uow, settings, run)
