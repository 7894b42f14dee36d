"""Four eyes before production (issue 15): approving a preview run, and the gate of a production run.

With `LEDGERLINE_RUN_APPROVAL_REQUIRED` on, a production run of a period starts only while the
period's latest approval stands (domain/run_approval.py). The gate is applied where a run is asked
for (HTTP: 409; billing.run.requested: dead letter) and again when the runner takes a queued run up.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ledgerline_invoicing.adapters.orm import BillingRunApprovalRow, BillingRunRow
from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.domain.run_approval import StoredApproval, check_approval_request, why_not_standing
from ledgerline_invoicing.domain.run_review import FlagCode
from ledgerline_invoicing.service import billing_runs
from ledgerline_invoicing.service.commands import ApproveRun, RequestBillingRun
from ledgerline_invoicing.service.errors import Conflict
from ledgerline_invoicing.service.run_review import review_out, review_run, reviewable_run
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork


class ApprovalRequired(Conflict):
    """A production run without a standing approval: 409, or a dead letter on the topic."""

    def __init__(self, message: str) -> None:
        super().__init__("mode", message)


def _stored(row: BillingRunApprovalRow, run: BillingRunRow | None) -> StoredApproval:
    wanted = run.client_ids if run is not None else None
    return StoredApproval(
        run_id=row.run_id,
        approved_by=row.approved_by,
        approved_at=row.approved_at.isoformat(timespec="seconds"),
        previews_hash=row.previews_hash,
        inputs=row.inputs,
        client_ids=frozenset(wanted) if wanted else None,
    )


async def _why_not(
    uow: InvoicingUnitOfWork, row: BillingRunApprovalRow | None, period: str, client_ids: list[str] | None
) -> str | None:
    if row is None:
        return why_not_standing(None, period=period, previews_hash="", inputs={}, client_ids=client_ids)
    run = await uow.runs.get(row.run_id)
    _count, previews = await uow.approvals.previews_hash(row.run_id)
    inputs = await uow.approvals.inputs_fingerprint(period)
    return why_not_standing(
        _stored(row, run), period=period, previews_hash=previews, inputs=inputs, client_ids=client_ids
    )


async def approve_run(
    uow: InvoicingUnitOfWork, settings: InvoicingSettings, cmd: ApproveRun
) -> dict[str, Any]:
    """Record a second person's approval of a completed preview run, with what it approved."""
    run_id = cmd.run_id
    async with uow:
        run = await reviewable_run(uow, run_id)
        review = await review_run(uow, settings, run)
        check_approval_request(
            approver=cmd.approver,
            preview_started_by=run.requested_by,
            comment=cmd.comment,
            acknowledged=list(cmd.acknowledged),
            blocking=review.blocking_codes,
        )
        count, previews = await uow.approvals.previews_hash(run_id)
        if count == 0:
            raise Conflict("run_id", f"preview run {run_id} has no previews to approve")
        if count != len(run.documents or []):
            # Some of its clients were previewed again since: what they would be billed was not reviewed here.
            raise Conflict(
                "run_id",
                f"previews of run {run_id} were replaced by a later preview run: approve the latest preview"
                f" of {run.period} instead",
            )
        row = await uow.approvals.add(
            BillingRunApprovalRow(
                run_id=run_id,
                period=run.period,
                approved_by=cmd.approver,
                approver_name=cmd.approver_name,
                approved_at=dt.datetime.now(dt.UTC),
                comment=cmd.comment or None,
                acknowledged_flags=sorted(set(cmd.acknowledged)),
                flag_counts={code.value: n for code, n in review.counts.items()},
                previews=count,
                previews_hash=previews,
                inputs=await uow.approvals.inputs_fingerprint(run.period),
            )
        )
        await uow.commit()
    return approval_out(row, None)


def approval_out(row: BillingRunApprovalRow, why_not: str | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "run_id": row.run_id,
        "period": row.period,
        "approved_by": row.approved_by,
        "approver_name": row.approver_name,
        "approved_at": row.approved_at.isoformat(),
        "comment": row.comment,
        "acknowledged_flags": row.acknowledged_flags,
        "flag_counts": row.flag_counts,
        "previews": row.previews,
        "previews_hash": row.previews_hash,
        "production_run_id": row.production_run_id,
        "stands": why_not is None,
        "why_not": why_not,
    }


async def approvals_out(uow: InvoicingUnitOfWork, run_id: str) -> list[dict[str, Any]]:
    """Every approval of the run, newest first, in the open unit of work; only the period's latest
    may stand."""
    rows = await uow.approvals.approvals_of_run(run_id)
    if not rows:
        return []
    latest = await uow.approvals.latest_approval(rows[0].period)
    out = []
    for row in rows:
        if latest is not None and row.id == latest.id:
            run = await uow.runs.get(row.run_id)
            # Judged for the clients it approved: a production run of those would pass.
            why_not = await _why_not(uow, row, row.period, run.client_ids if run is not None else None)
        else:
            why_not = "a later approval of the same period replaced it"
        out.append(approval_out(row, why_not))
    return out


async def review_report(
    uow: InvoicingUnitOfWork,
    settings: InvoicingSettings,
    run_id: str,
    *,
    flag: FlagCode | None,
    page: int,
    page_size: int,
) -> dict[str, Any]:
    """A completed preview run reviewed by exception (run_review.review_out), with whether
    production needs an approval and the run's approvals."""
    async with uow:
        run = await reviewable_run(uow, run_id)
        out = review_out(run, await review_run(uow, settings, run), flag=flag, page=page, page_size=page_size)
        out["approval_required"] = settings.run_approval_required
        out["approvals"] = await approvals_out(uow, run_id)
    return out


async def approvals(uow: InvoicingUnitOfWork, run_id: str) -> list[dict[str, Any]]:
    """Every approval of a reviewable run, each with whether it still stands and why not."""
    async with uow:
        await reviewable_run(uow, run_id)
        return await approvals_out(uow, run_id)


async def gate_production(
    uow: InvoicingUnitOfWork, settings: InvoicingSettings, period: str, client_ids: list[str] | None
) -> BillingRunApprovalRow | None:
    """The approval admitting a production run of `period`; ApprovalRequired when none stands.
    None when approval is not required."""
    if not settings.run_approval_required:
        return None
    latest = await uow.approvals.latest_approval(period)
    why_not = await _why_not(uow, latest, period, client_ids)
    if why_not is not None:
        raise ApprovalRequired(why_not)
    return latest


async def request_run(uow: InvoicingUnitOfWork, settings: InvoicingSettings, cmd: RequestBillingRun) -> str:
    """A run asked for through the API or the topic: production passes the approval gate first.
    Returns the queued run's id (the caller starts it once committed)."""
    async with uow:
        approval = (
            await gate_production(uow, settings, cmd.period, cmd.client_ids)
            if cmd.mode == "production"
            else None
        )
        run = await billing_runs.create_run(uow, cmd.period, cmd.mode, cmd.client_ids, cmd.requested_by)
        if approval is not None:
            await uow.approvals.mark_admitted(approval.id, run.id)
        await uow.commit()
    return run.id


async def refuse_unapproved_start(uow: InvoicingUnitOfWork, settings: InvoicingSettings, run_id: str) -> bool:
    """Checked again as the runner takes a queued production run up (inputs may have changed since
    it was asked for): if the approval no longer stands the run fails with the reason, billing
    nothing. A run already running (resumed after a restart) is not stopped halfway."""
    if not settings.run_approval_required:
        return False
    async with uow:
        run = await uow.runs.get(run_id)
        if run is None or run.mode != "production" or run.status != "queued":
            return False
        try:
            await gate_production(uow, settings, run.period, run.client_ids)
        except ApprovalRequired as refused:
            await uow.runs.fail(run_id, [{"error": refused.message}])
            await uow.commit()
            return True
        await uow.commit()
    return False
