"""Billing runs (spec section 5): preview (the guide's pre-production) and production.

A run is a job: queued, running, completed (or failed as a whole). Clients are billed by chunks
(service/billing_chunk.py), one transaction per chunk and a savepoint per client, so one failing
client is rolled back alone (its number given back), reported, and the others go on. Production is
idempotent per client and period: an invoice already issued for them is skipped (and a unique index
on (client, period) for invoices makes a concurrent second run fail for that client rather than
bill twice).

Several instances of the service share the runs (issue 13): an instance runs a run only once it has
claimed it (a lease on the run's row, shared/ledgerline_shared/lease.py), renews the lease while it
runs, and every chunk checks it still holds the run. Each instance looks for runs nobody holds (never
started, or left by an instance that died: its lease expired) every heartbeat and takes them over;
chunks already committed are not billed again (their clients are found billed by this run).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Sequence
from typing import Any

import structlog

from ledgerline_invoicing.adapters.orm import BillingRunRow
from ledgerline_invoicing.config import InvoicingSettings
from ledgerline_invoicing.domain.period import BillingPeriod
from ledgerline_invoicing.service import run_approval
from ledgerline_invoicing.service.billing_chunk import ClientOutcome, RunTakenOver, UsageTaxations, bill_chunk
from ledgerline_invoicing.service.errors import NotFound
from ledgerline_invoicing.service.unit_of_work import InvoicingUnitOfWork, UnitOfWorkFactory
from ledgerline_shared import job_lease
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


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class BillingRunner:
    """Executes queued runs in the service process, a few chunks of clients at a time.

    `new_uow` makes a unit of work per transaction (a chunk, the progress, the outcome); `wake`
    (the outbox relay's) runs once the run completed, so its events are published at once.
    `instance_id` names this instance in the runs' leases (settings.instance_id by default).
    """

    def __init__(
        self,
        new_uow: UnitOfWorkFactory,
        settings: InvoicingSettings,
        wake: Callable[[], None] | None = None,
        instance_id: str | None = None,
        sole_instance: bool = False,
    ) -> None:
        self.new_uow = new_uow
        self.sole_instance = sole_instance  # SQLite: one process; any lease found at start is a dead one's
        self.settings = settings
        self.instance_id = instance_id or settings.instance_id
        self._wake = wake
        self._running: dict[str, asyncio.Task[None]] = {}
        self._taxations = UsageTaxations()
        self._stopping = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None

    def start(self, run_id: str) -> None:
        if run_id not in self._running:
            task = asyncio.create_task(self.execute(run_id), name=f"billing-run-{run_id}")
            self._running[run_id] = task
            task.add_done_callback(lambda _t: self._running.pop(run_id, None))

    async def resume_unfinished(self) -> None:
        """Runs queued or running that nobody holds (left by a restart, or by an instance that died:
        its lease expired) are taken up (billing is idempotent; the claim decides who runs them)."""
        async with self.new_uow() as uow:
            if self.sole_instance and self._watcher is None:  # at start: a killed predecessor's leases
                await uow.runs.release(None)
                await uow.commit()
            ids = await uow.runs.unfinished(_now())
        for run_id in ids:
            self.start(run_id)

    async def watch(self) -> None:
        """Every heartbeat, take up the runs nobody holds, until stop()."""
        await job_lease.watch(
            self.settings.job_heartbeat_s, self.resume_unfinished, "billing runs", self._stopping
        )

    async def start_watching(self) -> None:
        """At start: the watch in the background, ended by stop()."""
        self._watcher = asyncio.create_task(self.watch(), name="billing-runs-watch")

    async def stop(self, *, release_leases: bool = True) -> None:
        """At a clean stop: cancel the runs in progress (their committed chunks stay) and release
        their leases, so that the next instance to look (a restart, another instance) resumes them at
        once rather than after the lease. `release_leases=False` is a crash, for the tests."""
        self._stopping.set()
        if self._watcher is not None:
            await asyncio.gather(self._watcher, return_exceptions=True)
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if release_leases and tasks:
            try:
                async with self.new_uow() as uow:
                    await uow.runs.release(self.instance_id)
                    await uow.commit()
            except Exception as exc:  # they are taken over once their leases expire
                log.warning("billing run leases not released", error=f"{type(exc).__name__}: {exc}")

    async def wait(self, run_id: str) -> None:
        task = self._running.get(run_id)
        if task is not None:
            await task

    async def claim(self, run_id: str) -> bool:
        """Hold the run under this instance's lease; False if another instance holds it (or it ended)."""
        async with self.new_uow() as uow:
            claimed = await uow.runs.claim(run_id, self.instance_id, _now(), self.settings.job_lease_s)
            await uow.commit()
        if not claimed:
            log.info("billing run held by another instance or finished", run_id=run_id)
        return claimed

    async def _heartbeat(self, run_id: str) -> None:
        """Renew the run's lease while it runs. A lost lease is noticed by the next chunk's check."""
        while True:
            await asyncio.sleep(self.settings.job_heartbeat_s)
            try:
                async with self.new_uow() as uow:
                    held = await uow.runs.renew(run_id, self.instance_id, _now(), self.settings.job_lease_s)
                    await uow.commit()
            except Exception as exc:  # the database away: the chunks fail too; try again
                log.warning("billing run lease not renewed", run_id=run_id, error=str(exc))
                continue
            if not held:
                log.warning("billing run lease lost to another instance", run_id=run_id)
                return

    async def execute(self, run_id: str) -> None:
        if not await self.claim(run_id):
            return
        heartbeat = asyncio.create_task(self._heartbeat(run_id), name=f"billing-run-lease-{run_id}")
        try:
            await self._execute(run_id)
        finally:  # a cancelled run (the process stopping) keeps its lease: another instance takes over
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)

    async def _execute(self, run_id: str) -> None:
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
                    outcomes = await bill_chunk(
                        self.new_uow(),
                        self.settings,
                        self._taxations,
                        chunk,
                        period,
                        mode,
                        run_id,
                        holder=self.instance_id,
                    )
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
                if not await uow.runs.complete(
                    run_id,
                    owner=self.instance_id,
                    done=done,
                    documents=documents,
                    errors=errors,
                    report={
                        "skipped": skipped,
                        "unrated_call_records": unrated,
                        "every_cycle_credit_notes": every_cycle_credits,
                    },
                ):
                    raise RunTakenOver(run_id)
                if self._wake is not None:  # the chunks' events: publish them now
                    uow.after_commit(self._wake)
                uow.after_commit(lambda: count_run(mode, "completed", started))
                await uow.commit()
        except RunTakenOver:  # its new holder finishes it
            log.warning("billing run taken over by another instance", run_id=run_id)
            self._taxations.forget(run_id)
        except Exception as exc:
            log.error("billing run failed", run_id=run_id, error=str(exc))
            async with self.new_uow() as uow:
                await uow.runs.fail(
                    run_id, [{"error": f"{type(exc).__name__}: {exc}"}], owner=self.instance_id
                )
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
