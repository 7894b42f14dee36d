"""Operations: every service's dashboard, and a dead letter shown there and replayed through the API."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from e2e_support import RunningStack, eventually, kafka_auth, read_topic

from ledgerline_shared.cloudevents import Envelope
from ledgerline_shared.topics import INVOICE_ISSUED

SERVICES = ("invoicing", "rendering", "notification", "export")


async def test_each_dashboard_shows_state_topics_and_lag(stack: RunningStack) -> None:
    for service in SERVICES:
        async with stack.http(service) as http:
            page = await http.get("/dashboard", headers=stack.token("ops"))
            assert page.status_code == 200
            assert "READY" in page.text and "Topics consumed" in page.text and "Consumer lag" in page.text
            if service == "invoicing":
                assert "Billing runs" in page.text
            metrics = await http.get("/metrics")
            assert 'ledgerline_ready{service="' + service + '"} 1.0' in metrics.text
            spec = await http.get("/asyncapi.json")
            assert spec.status_code == 200 and spec.json()["channels"]


async def test_a_malformed_event_is_dead_lettered_shown_and_replayable(
    stack: RunningStack, kafka_bootstrap: str
) -> None:
    envelope = Envelope.new(source="/tests/poison", type=INVOICE_ISSUED)
    producer = AIOKafkaProducer(**kafka_auth(), bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            INVOICE_ISSUED, b'{"number": "not a document"}', key=b"POISON", headers=envelope.headers()
        )
    finally:
        await producer.stop()
    admin = stack.token("admin")

    async def rendering_dead_letters(wait: bool = True) -> list[dict]:
        # invoice.issued is read by rendering and by export: each dead-letters the message once.
        dead = await read_topic(kafka_bootstrap, INVOICE_ISSUED + ".dlq", "POISON", wait=wait)
        return [d for d in dead if d["headers"]["dlq_consumer"] == "rendering.invoice.issued"]

    async with stack.http("rendering") as rendering:
        ops = stack.token("ops", sub="olivia")

        async def shown() -> bool:
            return envelope.id in (await rendering.get("/dashboard", headers=ops)).text

        await eventually(shown, 60)
        page = (await rendering.get("/dashboard", headers=ops)).text
        assert "invalid message" in page
        assert len(await rendering_dead_letters()) == 1
        # Replaying needs admin or ops; the dead letter id is the newest one.
        assert (
            await rendering.post("/api/v1/dead-letters/1/replay", headers=stack.token("billing"))
        ).status_code == 403
        assert (await rendering.post("/api/v1/dead-letters/1/replay")).status_code == 401
        replayed = await rendering.post("/api/v1/dead-letters/1/replay", headers=ops)
        assert replayed.status_code == 202 and replayed.json()["topic"] == INVOICE_ISSUED
        assert (await rendering.post("/api/v1/dead-letters/999999/replay", headers=admin)).status_code == 404
        # An id beyond the column's range is refused, not a 500 from the database (found by the fuzzer).
        too_large = await rendering.post(f"/api/v1/dead-letters/{2**63}/replay", headers=admin)
        assert too_large.status_code == 422 and "dead_letter_id" in too_large.text
        assert (await rendering.post("/api/v1/dead-letters/0/replay", headers=admin)).status_code == 422

        async def dead_again() -> bool:  # still malformed: dead-lettered a second time, nothing else breaks
            return len(await rendering_dead_letters(wait=False)) == 2

        await eventually(dead_again, 60)
