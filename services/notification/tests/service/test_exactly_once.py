"""Exactly once across failures: an SMTP outage, a process killed mid-delivery, a dropped DATA."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import update

from ledgerline_notification.adapters.delivery_repository import DeliveryRepository
from ledgerline_notification.adapters.orm import DeliveryRow
from ledgerline_notification.service.delivery_worker import INTERRUPTED_REASON
from ledgerline_shared.contracts.events import SendRequested
from ledgerline_shared.topics import (
    DOCUMENT_RENDERED,
    INVOICE_DELIVERED,
    INVOICE_DELIVERY_FAILED,
    INVOICE_SEND_REQUESTED,
)

from .conftest import (
    SECRET,
    SMTP_PASSWORD,
    SMTP_USER,
    Notification,
    RecordingHandler,
    RunNotification,
    StartServer,
    TlsFiles,
    free_port,
    rendered_event,
    wait_until,
)

HERE = Path(__file__).resolve().parent


async def claim_pending_as(session: Any, instance: str, claimed_seconds_ago: float) -> uuid.UUID | None:
    """The pending delivery claimed by `instance` that long ago, as another process would have (no
    SMTP begun): its id, or None while there is none yet."""
    claimed: uuid.UUID | None = await session.scalar(
        update(DeliveryRow)
        .where(DeliveryRow.status == "pending")
        .values(
            status="sending",
            claimed_by=instance,
            claimed_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=claimed_seconds_ago),
            smtp_started_at=None,
        )
        .returning(DeliveryRow.id)
    )
    return claimed


async def statuses(service: Notification) -> list[str]:
    return [d.status for d in await service.deliveries()]


async def test_an_smtp_outage_delays_every_email_and_each_arrives_exactly_once(
    run_notification: RunNotification, smtp_server: StartServer
) -> None:
    port = free_port()  # the server is down: nothing listens there yet
    numbers = [f"F-2026-0001{i:02d}" for i in range(5)]
    async with run_notification(port) as service:
        pdfs = {}
        for number in numbers:
            path, pdfs[number] = service.store_pdf(number)
            await service.feed(DOCUMENT_RENDERED, rendered_event(number, path, pdfs[number]), key=number)
        resend = SendRequested(
            request_id=str(uuid.uuid4()),
            requested_by="alice@ledgerline.test",
            number=numbers[0],
            recipients=[{"name": "Zoé", "email": "zoe@client.example"}],
            language="fr",
        )  # type: ignore[list-item]
        await service.feed(INVOICE_SEND_REQUESTED, resend, key=numbers[0])

        await asyncio.sleep(4)  # the outage: several failed attempts each
        during = await service.deliveries()
        log = (
            await service.http.get(
                "/api/v1/deliveries", params={"document": numbers[1]}, headers=service.token("billing")
            )
        ).json()
        server = smtp_server("starttls", auth=True, port=port)  # back
        await wait_until(lambda: _all_sent(service, 6), timeout=30, what="every delivery after the outage")
        await asyncio.sleep(1.0)  # nothing more may arrive
        delivered = await service.outbox(INVOICE_DELIVERED)
        failed = await service.outbox(INVOICE_DELIVERY_FAILED)
        after = await service.deliveries()

    # Every delivery was tried and is waiting for its retry (one may be mid-attempt at the snapshot);
    # backoff retried at least some of them already (how many in 4 s depends on the machine's load).
    assert all(d.status in ("pending", "sending") and d.attempts >= 1 for d in during)
    assert any(d.attempts >= 2 for d in during)
    assert all("at connect" in (d.error or "") for d in during if d.status == "pending")
    assert log["deliveries"][0]["status"] == "pending" and log["deliveries"][0]["next_attempt_at"]
    message_ids = [r.message()["Message-ID"] for r in server.handler.received]
    assert len(message_ids) == 6 and len(set(message_ids)) == 6
    assert sorted(message_ids) == sorted(f"<{d.id}@ledgerline>" for d in after)
    by_number: dict[str, int] = {}
    for received in server.handler.received:
        [attachment] = list(received.message().iter_attachments())
        number = attachment.get_filename().removesuffix(".pdf")
        assert attachment.get_content() == pdfs[number]
        by_number[number] = by_number.get(number, 0) + 1
    assert by_number == {numbers[0]: 2, **{n: 1 for n in numbers[1:]}}  # auto + the resend for the first
    assert len(delivered) == 6 and failed == []


async def _all_sent(service: Notification, count: int) -> bool:
    return await statuses(service) == ["sent"] * count


async def test_a_process_killed_after_smtp_and_before_the_commit_does_not_send_again(
    run_notification: RunNotification, smtp_server: StartServer, tls_files: TlsFiles, tmp_path: Path
) -> None:
    server = smtp_server("starttls", auth=True)
    pdf = b"%PDF-1.7\n" + os.urandom(20_000) + b"\n%%EOF\n"
    path = "versions/F-2026-000200/v1/F-2026-000200.pdf"
    (tmp_path / "documents" / path).parent.mkdir(parents=True)
    (tmp_path / "documents" / path).write_bytes(pdf)
    event_file = tmp_path / "event.json"
    event_file.write_text(rendered_event("F-2026-000200", path, pdf).model_dump_json(by_alias=True))
    env = {
        **os.environ,
        "LEDGERLINE_DATA_DIR": str(tmp_path),
        "LEDGERLINE_JWT_SECRET": SECRET,
        "LEDGERLINE_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "LEDGERLINE_SMTP_PORT": str(server.port),
        "LEDGERLINE_SMTP_STARTTLS": "true",
        "LEDGERLINE_SMTP_USERNAME": SMTP_USER,
        "LEDGERLINE_SMTP_PASSWORD": SMTP_PASSWORD,
        "LEDGERLINE_SMTP_CA_FILE": str(tls_files.cert),
        "LEDGERLINE_DELIVERY_POLL_S": "0.05",
    }
    crashed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(HERE / "crash_after_smtp.py"), str(event_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == -9, crashed.stderr[-2000:]  # SIGKILL, right after the server's 250
    assert "accepted" in crashed.stdout
    assert len(server.handler.received) == 1

    # Restart on the same database (lease 0: the dead process's claim is stale at once).
    async with run_notification(server.port, delivery_lease_s=0.0) as service:
        await wait_until(lambda: _statuses_are(service, ["unconfirmed"]), what="the interrupted delivery")
        await asyncio.sleep(1.0)  # several worker rounds: nothing is resent
        assert len(server.handler.received) == 1
        [failed] = await service.outbox(INVOICE_DELIVERY_FAILED)
        log = (
            await service.http.get(
                "/api/v1/deliveries", params={"document": "F-2026-000200"}, headers=service.token("readonly")
            )
        ).json()
        # The user's remedy: a new send request, which always sends.
        resend = SendRequested(
            request_id="r-1",
            requested_by="alice@ledgerline.test",
            number="F-2026-000200",
            recipients=[{"name": "Zoé", "email": "zoe@client.example"}],
        )  # type: ignore[list-item]
        await service.feed(INVOICE_SEND_REQUESTED, resend, key="F-2026-000200")
        await wait_until(lambda: _statuses_are(service, ["unconfirmed", "sent"]), what="the resend")

    assert failed["data"]["error"] == INTERRUPTED_REASON and failed["data"]["request_id"] == "auto"
    [entry] = log["deliveries"]
    assert entry["status"] == "unconfirmed" and entry["error"] == INTERRUPTED_REASON
    assert len(server.handler.received) == 2
    first, second = (r.message() for r in server.handler.received)
    assert first["Message-ID"] != second["Message-ID"]


async def _statuses_are(service: Notification, expected: list[str]) -> bool:
    return await statuses(service) == expected


async def test_a_fresh_claim_of_another_live_process_is_left_alone(
    run_notification: RunNotification, smtp_server: StartServer
) -> None:
    """Within the lease, a `sending` delivery may be in another process's SMTP transaction."""
    server = smtp_server("starttls", auth=True)
    async with run_notification(server.port, delivery_lease_s=600.0) as service:
        path, pdf = service.store_pdf("F-2026-000300")
        await service.feed(DOCUMENT_RENDERED, rendered_event("F-2026-000300", path, pdf))
        await wait_until(lambda: _statuses_are(service, ["sent"]))
        async with service.app.state.runtime.sessions() as session, session.begin():
            await session.execute(
                update(DeliveryRow).values(
                    status="sending", claimed_by="another-process", claimed_at=dt.datetime.now(dt.UTC)
                )
            )
        reported = await service.app.state.delivery_worker.report_interrupted()
        assert reported == 0 and await statuses(service) == ["sending"]
        async with service.app.state.runtime.sessions() as session, session.begin():
            await session.execute(
                update(DeliveryRow).values(claimed_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=601))
            )
        assert await service.app.state.delivery_worker.report_interrupted() == 1
        assert await statuses(service) == ["unconfirmed"]
    assert len(server.handler.received) == 1


async def test_a_claim_of_a_dead_process_that_never_began_smtp_is_sent_once(
    run_notification: RunNotification, smtp_server: StartServer
) -> None:
    """A worker claims a batch and sends a few at a time: the ones a kill caught before their SMTP
    transaction began never reached the server, so they are sent, not reported unconfirmed."""
    server = smtp_server("starttls", auth=True)
    port = free_port()  # the worker of this process cannot send yet: the rows stay as the test sets them
    async with run_notification(port, delivery_lease_s=1.0) as service:
        path, pdf = service.store_pdf("F-2026-000400")
        await service.feed(DOCUMENT_RENDERED, rendered_event("F-2026-000400", path, pdf))

        async def claimed_by_a_dead_process() -> bool:
            # Only while `pending`: this process's own worker keeps trying (and failing) meanwhile.
            async with service.app.state.runtime.sessions() as session, session.begin():
                return await claim_pending_as(session, "dead-instance", claimed_seconds_ago=5) is not None

        await wait_until(claimed_by_a_dead_process, what="the delivery recorded, then claimed")
        worker = service.app.state.delivery_worker
        assert await worker.report_interrupted() == 1
        [row] = await service.deliveries()
        assert row.status in ("pending", "sending") and row.claimed_by != "dead-instance"
        assert await service.outbox(INVOICE_DELIVERY_FAILED) == []  # not an outcome: nothing announced
    async with run_notification(server.port, delivery_lease_s=1.0) as service:
        await wait_until(lambda: _statuses_are(service, ["sent"]), what="the delivery sent")
        assert len(server.handler.received) == 1


class DroppingHandler(RecordingHandler):
    """Takes the whole message, then hangs up instead of answering: did the server keep it?"""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope)
        server.transport.close()
        return "250 never heard"


async def test_a_connection_lost_after_the_data_is_unconfirmed_and_not_retried(
    run_notification: RunNotification, smtp_server: StartServer
) -> None:
    server = smtp_server("starttls", auth=True, handler=DroppingHandler())
    async with run_notification(server.port) as service:
        path, pdf = service.store_pdf("F-2026-000400")
        await service.feed(DOCUMENT_RENDERED, rendered_event("F-2026-000400", path, pdf))
        await wait_until(lambda: _statuses_are(service, ["unconfirmed"]))
        await asyncio.sleep(1.0)
        [delivery] = await service.deliveries()
        [failed] = await service.outbox(INVOICE_DELIVERY_FAILED)

    assert delivery.attempts == 1 and len(server.handler.received) == 1
    assert "may have accepted it" in (delivery.error or "")
    assert failed["data"]["error"] == delivery.error


class SlowHandler(RecordingHandler):
    """Takes a while over each message, so the deliveries queued behind one connection wait."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.3)
        return await super().handle_DATA(server, session, envelope)


async def test_only_a_delivery_holding_an_smtp_connection_counts_as_begun(
    run_notification: RunNotification, smtp_server: StartServer
) -> None:
    """One SMTP connection, a claimed batch: the deliveries waiting for the connection have not begun
    SMTP (a kill now would send them again), only the one in its transaction has. Recorded before
    the wait, a whole batch was `unconfirmed` after a kill in the cluster fault test."""
    server = smtp_server("starttls", auth=True, handler=SlowHandler())
    numbers = [f"F-2026-0005{i:02d}" for i in range(5)]
    begun_at_once: list[int] = []
    async with run_notification(server.port, smtp_connections=1) as service:
        for number in numbers:
            path, pdf = service.store_pdf(number)
            await service.feed(DOCUMENT_RENDERED, rendered_event(number, path, pdf), key=number)

        async def all_sent() -> bool:
            rows = await service.deliveries()
            begun_at_once.append(sum(1 for d in rows if d.status == "sending" and d.smtp_started_at))
            return len(rows) == len(numbers) and all(d.status == "sent" for d in rows)

        await wait_until(all_sent, timeout=30, what="every delivery sent")
    assert len(server.handler.received) == len(numbers)
    assert max(begun_at_once) == 1, begun_at_once


async def test_a_claim_whose_smtp_just_began_is_not_taken_over_though_claimed_long_ago(
    run_notification: RunNotification,
) -> None:
    """A live instance's batch may take longer than the lease; the delivery it has just begun to
    send is its own until that transaction outlives the lease (another instance sweeping would
    otherwise report it `unconfirmed` while it is being sent)."""
    port = free_port()  # this process's own worker cannot send: the row stays as the test sets it
    async with run_notification(port, delivery_lease_s=1.0) as service:
        path, pdf = service.store_pdf("F-2026-000600")
        await service.feed(DOCUMENT_RENDERED, rendered_event("F-2026-000600", path, pdf))
        sessions = service.app.state.runtime.sessions

        async def claimed_long_ago_then_begun() -> bool:
            # One transaction: this process's own sweep must not see the old claim before the mark.
            async with sessions() as session, session.begin():
                claimed = await claim_pending_as(session, "live-instance", claimed_seconds_ago=30)
                if claimed is None:
                    return False
                began = dt.datetime.now(dt.UTC)
                assert await DeliveryRepository(session).mark_smtp_started(claimed, "live-instance", began)
            return True

        await wait_until(claimed_long_ago_then_begun, what="the delivery recorded, claimed, then begun")
        assert await service.app.state.delivery_worker.report_interrupted() == 0
        [row] = await service.deliveries()
        assert row.status == "sending" and row.claimed_by == "live-instance"
        assert await service.outbox(INVOICE_DELIVERY_FAILED) == []
