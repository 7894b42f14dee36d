"""Two instances of notification on one PostgreSQL (issue 13): deliveries are claimed under a lease,
so each e-mail goes out once whichever instance recorded it, and a delivery left `sending` by a dead
instance is reported once however many instances sweep at the same moment.

Two real notification apps (their own engines, workers and instance ids) on one database and one
document folder, sending to one real SMTP server. Run through deploy/test.sh.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from sqlalchemy import update

from ledgerline_notification.adapters.orm import DeliveryRow
from ledgerline_shared.testing import fresh_postgres_database
from ledgerline_shared.topics import DOCUMENT_RENDERED, INVOICE_DELIVERED, INVOICE_DELIVERY_FAILED

from .conftest import Notification, RunNotification, StartServer, rendered_event, wait_until

pytestmark = pytest.mark.timeout(120)

DOCUMENTS = 16


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        yield url


async def two_instances(
    stack: AsyncExitStack, run_notification: RunNotification, port: int, url: str, **settings: Any
) -> tuple[Notification, Notification]:
    first = await stack.enter_async_context(run_notification(port, notification_database_url=url, **settings))
    second = await stack.enter_async_context(
        run_notification(port, notification_database_url=url, **settings)
    )
    return first, second


async def test_two_instances_send_each_email_once(
    run_notification: RunNotification, smtp_server: StartServer, pg_url: str
) -> None:
    server = smtp_server("starttls", auth=True)
    async with AsyncExitStack() as stack:
        first, second = await two_instances(stack, run_notification, server.port, pg_url)
        workers = {first.app.state.delivery_worker.instance_id, second.app.state.delivery_worker.instance_id}
        assert len(workers) == 2
        for n in range(DOCUMENTS):  # recorded half by each instance; both workers claim from one table
            number = f"F2026-{n + 1:06d}"
            path, pdf = first.store_pdf(number)
            await (first if n % 2 else second).feed(
                DOCUMENT_RENDERED, rendered_event(number, path, pdf), key=number
            )

        async def all_sent() -> bool:
            return [d.status for d in await first.deliveries()] == ["sent"] * DOCUMENTS

        await wait_until(all_sent, timeout=60, what="every delivery sent")
        await asyncio.sleep(0.5)  # several more worker rounds on both instances: nothing more goes out
        delivered = await first.outbox(INVOICE_DELIVERED)

    message_ids = Counter(r.message()["Message-ID"] for r in server.handler.received)
    assert len(message_ids) == DOCUMENTS and set(message_ids.values()) == {1}  # each e-mail once
    assert sorted(e["key"] for e in delivered) == [f"F2026-{n + 1:06d}" for n in range(DOCUMENTS)]


async def test_a_dead_instances_deliveries_are_reported_once_by_two_sweeping_instances(
    run_notification: RunNotification, smtp_server: StartServer, pg_url: str
) -> None:
    server = smtp_server("starttls", auth=True)
    async with AsyncExitStack() as stack:
        first, second = await two_instances(stack, run_notification, server.port, pg_url)
        for n in range(DOCUMENTS):
            number = f"F2026-{n + 1:06d}"
            path, pdf = first.store_pdf(number)
            await first.feed(DOCUMENT_RENDERED, rendered_event(number, path, pdf), key=number)
        await wait_until(lambda: _statuses(first, {"sent"}), timeout=60, what="every delivery sent")
        # A third instance claimed them all and died during SMTP, long ago.
        async with first.app.state.runtime.sessions() as session, session.begin():
            await session.execute(
                update(DeliveryRow).values(
                    status="sending",
                    claimed_by="dead-instance",
                    claimed_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2),
                )
            )
        workers = [s.app.state.delivery_worker for s in (first, second)]
        reported = await asyncio.gather(*(w.report_interrupted() for w in workers for _ in range(3)))
        failed = await first.outbox(INVOICE_DELIVERY_FAILED)
        statuses = {d.status for d in await first.deliveries()}

    # Each interrupted delivery taken over by one sweep (the workers' own rounds may take some too).
    assert sum(reported) <= DOCUMENTS
    assert sorted(e["key"] for e in failed) == [f"F2026-{n + 1:06d}" for n in range(DOCUMENTS)]
    assert statuses == {"unconfirmed"}


async def _statuses(service: Notification, expected: set[str]) -> bool:
    rows = await service.deliveries()
    return len(rows) == DOCUMENTS and {d.status for d in rows} == expected
