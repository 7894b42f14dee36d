"""Billing runs (spec section 5): preview (the guide's pre-production) and production.

A run is a job: queued, running, completed (or failed as a whole). Clients are billed by chunks
(service/billing_chunk.py), one transaction per chunk and a savepoint per client, so one failing
client is rolled back alone (its number given back), reported, and the others go on. Production is
idempotent per client and period: an invoice already issued for them is skipped (and a unique index
on (client, period) for invoices makes a concurrent second run fail for that client rather than
bill twice).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

import structlog

from ledgerline_invoicing.adapters.orm import BillingRunRow
from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.domain.period import BillingPeriod
from ledgerline_invoicing.service import run_approval
from ledgerline_invoicing.service.billing_chunk import ClientOutcome, UsageTaxations, bill_chunk
from ledgerline_invoicing.service.errors import NotFound
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork, UnitOfWorkFactory
from ledgerline_shared.observability import metrics

log = structlog.get_logger(__name__)

# Clients billed in one transaction. A chunk's data is read in a few queries, and its clients are
# issued one savepoint each; the transaction holds the numbering row lock from its first number to
# its commit, so a chunk must stay short enough for other issuers (a credit note) not to wait long.
CLIENTS_PER_CHUNK = 200


def count_run(mode: str, outcome: str, started: float) -> None:
    """A finished run, once its outcome committed: `ledgerline_billing_runs_total` and its duration."""
    metrics.BILLING_RUNS.labels(mode, outcome).inc()
    metrics.BILLING_RUN_SECONDS.labels(mode, outcome).observe(time.monotonic() - started)


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
    uow: InvoicingUnitOfWork, period: str, mode: str, client_ids: list[str] | None, requested_by: str | None
) -> BillingRunRow:
    """A queued run, in the open unit of work (the caller commits, then starts it)."""
    BillingPeriod.parse(period)
    return await uow.runs.add(
        BillingRunRow(
            period=period,
            mode=mode,
            client_ids=client_ids,
            requested_by=requested_by,
            documents=[],
            errors=[],
            report={},
        )
    )


async def get_run(uow: InvoicingUnitOfWork, run_id: str) -> dict[str, Any]:
    async with uow:
        run = await uow.runs.get(run_id)
    if run is None:
        raise NotFound("billing run", run_id, "run_id")
    return run_out(run)


async def list_runs(
    uow: InvoicingUnitOfWork, *, period: str | None, mode: str | None, page: int, page_size: int
) -> dict[str, Any]:
    """Billing runs, newest first (Documents → Pre-production's run list)."""
    async with uow:
        total, runs = await uow.runs.page(period=period, mode=mode, page=page, page_size=page_size)
    return {"total": total, "page": page, "page_size": page_size, "items": [run_out(r) for r in runs]}


async def recent_runs(uow: InvoicingUnitOfWork, limit: int = 10) -> Sequence[BillingRunRow]:
    async with uow:
        return await uow.runs.recent(limit)


class BillingRunner:
    """Executes queued runs in the service process, a few chunks of clients at a time.

    `new_uow` makes a unit of work per transaction (a chunk, the progress, the outcome); `wake`
    (the outbox relay's) runs once the run completed, so its events are published at once.
    """

    def __init__(
        self,
        new_uow: UnitOfWorkFactory,
        settings: InvoicingSettings,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self.new_uow = new_uow
        self.settings = settings
        self._wake = wake
        self._running: dict[str, asyncio.Task[None]] = {}
        self._taxations = UsageTaxations()

    def start(self, run_id: str) -> None:
        if run_id not in self._running:
            task = asyncio.create_task(self.execute(run_id), name=f"billing-run-{run_id}")
            self._running[run_id] = task
            task.add_done_callback(lambda _t: self._running.pop(run_id, None))

    async def resume_unfinished(self) -> None:
        """After a restart: runs left queued or running are taken up again (billing is idempotent)."""
        async with self.new_uow() as uow:
            ids = await uow.runs.unfinished()
        for run_id in ids:
            self.start(run_id)

    async def wait(self, run_id: str) -> None:
        task = self._running.get(run_id)
        if task is not None:
            await task

    async def execute(self, run_id: str) -> None:
        # Four eyes (issue 15, service/run_approval.py): a queued production run whose approval no
        # longer stands fails with the reason, billing nothing.
        started = time.monotonic()
        if await run_approval.refuse_unapproved_start(self.new_uow(), self.settings, run_id):
            count_run("production", "failed", started)  # committed: the run failed with the reason
            return
        mode = "unknown"
        try:
            async with self.new_uow() as uow:
                run = await uow.runs.get(run_id)
                if run is None:
                    return
                period, mode, wanted = run.period, run.mode, run.client_ids
                client_ids = await uow.runs.clients_to_bill(wanted)
                unknown = sorted(set(wanted or []) - set(client_ids))
                run.status = "running"
                run.total = len(client_ids)
                run.done = 0
                run.errors = [{"client_id": c, "error": "unknown client"} for c in unknown]
                await uow.commit()
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
                        if outcome.document is not None:
                            documents.append(outcome.document)
                        if outcome.error is not None:
                            errors.append({"client_id": client_id, "error": outcome.error})
                        if outcome.skipped is not None:
                            skipped.append({"client_id": client_id, "reason": outcome.skipped})
                        unrated.extend(outcome.unrated)
                        every_cycle_credits.extend(outcome.every_cycle_credits)
                    done += len(chunk)
                    async with self.new_uow() as uow:
                        await uow.runs.record_progress(run_id, done)
                        await uow.commit()

            chunks = [
                client_ids[start : start + CLIENTS_PER_CHUNK]
                for start in range(0, len(client_ids), CLIENTS_PER_CHUNK)
            ]
            await asyncio.gather(*(one(chunk) for chunk in chunks))
            self._taxations.forget(run_id)
            async with self.new_uow() as uow:
                await uow.runs.complete(
                    run_id,
                    done=done,
                    documents=documents,
                    errors=errors,
                    report={
                        "skipped": skipped,
                        "unrated_call_records": unrated,
                        "every_cycle_credit_notes": every_cycle_credits,
                    },
                )
                if self._wake is not None:  # the chunks' events: publish them now
                    uow.after_commit(self._wake)
                uow.after_commit(lambda: count_run(mode, "completed", started))
                await uow.commit()
        except Exception as exc:
            log.error("billing run failed", run_id=run_id, error=str(exc))
            async with self.new_uow() as uow:
                await uow.runs.fail(run_id, [{"error": f"{type(exc).__name__}: {exc}"}])
                uow.after_commit(lambda: count_run(mode, "failed", started))
                await uow.commit()

    async def bill_client(
        self, client_id: str, period_text: str, mode: str, run_id: str | None
    ) -> ClientOutcome:
        """One client in its own transaction."""
        return (await self.bill_chunk([client_id], period_text, mode, run_id))[client_id]

    async def bill_chunk(
        self, client_ids: Sequence[str], period_text: str, mode: str, run_id: str | None
    ) -> dict[str, ClientOutcome]:
        return await bill_chunk(
            self.new_uow(), self.settings, self._taxations, client_ids, period_text, mode, run_id
        )
