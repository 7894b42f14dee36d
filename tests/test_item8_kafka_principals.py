"""Issue 11 item 8: the broker authenticates every client (SASL/SCRAM-SHA-512), each service is its own
principal and the ACLs let it write only what it produces; notification mails an export only as the
export service recorded it, never as the event alone says."""

from __future__ import annotations

import datetime as dt
import subprocess
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)
from e2e_support import RunningStack, eventually, kafka_auth, read_topic
from kafka_acls import acls

from ledgerline_shared.cloudevents import Envelope
from ledgerline_shared.contracts.events import ExportCompleted
from ledgerline_shared.contracts.export_receipt import (
    ExportReceipt,
    ReceiptRefused,
    confirmed_requester,
    read_receipt,
    write_receipt,
)
from ledgerline_shared.document_store import FolderDocumentStore
from ledgerline_shared.topics import (
    CREDITNOTE_REQUESTED,
    DOCUMENT_RENDERED,
    EXPORT_COMPLETED,
    INVOICE_ISSUED,
)


async def _produce(bootstrap: str, auth: dict[str, Any], topic: str, key: str, value: bytes) -> None:
    envelope = Envelope.new(source="/tests/item8", type=topic)
    producer = AIOKafkaProducer(**auth, bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key.encode(), headers=envelope.headers())
    finally:
        await producer.stop()


@pytest.mark.parametrize(
    ("principal", "topic"),
    [
        ("rendering", EXPORT_COMPLETED),
        ("notification", EXPORT_COMPLETED),  # it reads the topic, it may not write it
        ("mediation", CREDITNOTE_REQUESTED),
        ("rendering", CREDITNOTE_REQUESTED),
        ("export", CREDITNOTE_REQUESTED),
        ("notification", INVOICE_ISSUED),
    ],
)
async def test_item8_a_principal_without_the_acl_cannot_produce(
    kafka_bootstrap: str, principal: str, topic: str
) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        await _produce(kafka_bootstrap, kafka_auth(principal), topic, "ITEM8-DENIED", b"{}")


async def test_item8_the_owning_principal_can_produce(kafka_bootstrap: str) -> None:
    # The CRM may ask for a credit note (invoicing dead-letters this empty request; that is all).
    await _produce(kafka_bootstrap, kafka_auth("crm"), CREDITNOTE_REQUESTED, "ITEM8-ALLOWED", b"{}")
    assert await read_topic(kafka_bootstrap, CREDITNOTE_REQUESTED, "ITEM8-ALLOWED")


async def test_item8_no_credentials_or_a_wrong_password_gets_nothing(kafka_bootstrap: str) -> None:
    plaintext = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, request_timeout_ms=5000)
    with pytest.raises(KafkaError):  # the SASL listener does not speak to an unauthenticated client
        await plaintext.start()
    await plaintext.stop()
    wrong = {**kafka_auth("export"), "sasl_plain_password": "not-the-password"}
    impostor = AIOKafkaProducer(**wrong, bootstrap_servers=kafka_bootstrap, request_timeout_ms=5000)
    with pytest.raises((KafkaError, KafkaConnectionError)):
        await impostor.start()
    await impostor.stop()


async def test_item8_a_service_reads_only_its_topics_in_its_own_groups(kafka_bootstrap: str) -> None:
    # notification does not consume invoice.issued: the broker does not even show it the topic
    # (metadata lists only what a principal may describe), while its own inputs are there.
    consumer = AIOKafkaConsumer(**kafka_auth("notification"), bootstrap_servers=kafka_bootstrap)
    await consumer.start()
    try:
        visible = await consumer.topics()
    finally:
        await consumer.stop()
    assert EXPORT_COMPLETED in visible and DOCUMENT_RENDERED in visible
    assert INVOICE_ISSUED not in visible and CREDITNOTE_REQUESTED not in visible
    # rendering may not join (or commit in) another service's consumer group.
    grouped = AIOKafkaConsumer(
        INVOICE_ISSUED,
        **kafka_auth("rendering"),
        bootstrap_servers=kafka_bootstrap,
        group_id=f"invoicing.item8-{uuid.uuid4().hex[:6]}",
    )
    with pytest.raises(GroupAuthorizationFailedError):
        await grouped.start()
        await grouped.getmany(timeout_ms=5000)
    await grouped.stop()


def test_item8_acls_follow_the_topic_catalog() -> None:
    rules = acls()
    writes = {(r.principal, r.name) for r in rules if r.operation == "write"}
    reads = {(r.principal, r.name) for r in rules if r.operation == "read" and r.resource == "topic"}
    assert ("export", EXPORT_COMPLETED) in writes and ("crm", CREDITNOTE_REQUESTED) in writes
    assert {p for p, t in writes if t == EXPORT_COMPLETED} == {"export"}
    assert {p for p, t in writes if t == CREDITNOTE_REQUESTED} == {"crm", "invoicing"}
    assert ("notification", EXPORT_COMPLETED) in reads
    # each consumer writes the dead letters of what it reads, nothing else beyond what it produces
    assert ("rendering", INVOICE_ISSUED + ".dlq") in writes
    groups = {(r.principal, r.name, r.prefixed) for r in rules if r.resource == "group"}
    assert groups == {(s, f"{s}.", True) for s in ("invoicing", "rendering", "notification", "export")}


# -- notification mails an export only as the export service recorded it ----------------------------


def test_item8_the_receipt_decides_file_and_recipient(tmp_path: Any) -> None:
    store = FolderDocumentStore(tmp_path)
    write_receipt(store, ExportReceipt("e-1", "carla@ledgerline.test", "exports/e-1/fec.txt"))
    receipt = read_receipt(store, "e-1")
    assert confirmed_requester(receipt, path="exports/e-1/fec.txt", requested_by="Carla@Ledgerline.test") == (
        "carla@ledgerline.test"
    )
    for path, requested_by in (
        ("exports/e-1/fec.txt", "mallory@evil.test"),  # another address
        ("exports/e-2/fec.txt", "carla@ledgerline.test"),  # another export's file
        ("exports/e-1/../e-2/fec.txt", "carla@ledgerline.test"),
        ("production/2026-01/invoices-pdf/F1.pdf", "carla@ledgerline.test"),
        ("exports/e-1/receipt.json", "carla@ledgerline.test"),
        ("exports/e-1/other.txt", "carla@ledgerline.test"),  # in the folder, not the file it made
    ):
        with pytest.raises(ReceiptRefused):
            confirmed_requester(receipt, path=path, requested_by=requested_by)
    for export_id in ("e-404", "../e-1", "e-1/x", ""):
        with pytest.raises(ReceiptRefused):
            read_receipt(store, export_id)


async def _completed_export(stack: RunningStack, headers: dict[str, str]) -> dict[str, Any]:
    today = dt.date.today().isoformat()
    async with stack.http("export") as exp:
        job = await exp.post(
            "/api/v1/exports",
            headers=headers,
            json={"kind": "accounting", "format": "csv", "from": today, "to": today},
        )
        assert job.status_code == 202, job.text

        async def completed() -> dict | None:
            state = (await exp.get(f"/api/v1/exports/{job.json()['id']}", headers=headers)).json()
            return state if state["status"] in ("completed", "failed") else None

        state: dict[str, Any] = await eventually(completed, 90)
    assert state["status"] == "completed", state
    return state


async def test_item8_a_forged_export_completed_mails_nothing(
    stack: RunningStack, kafka_bootstrap: str
) -> None:
    requester = stack.token("accounting", sub="carole8")
    state = await _completed_export(stack, requester)
    export_id = state["id"]
    receipt = read_receipt(FolderDocumentStore(stack.data_dir / "documents"), export_id)
    assert receipt.requested_by == "carole8@ledgerline.test"

    async def mailed_to(address: str) -> list:
        return [m for m in stack.mail.messages if address in str(m["To"])]

    await eventually(lambda: mailed_to("carole8@ledgerline.test"), 90)  # the real one, once
    # Someone able to publish export.completed (here the admin principal) names another address, or a
    # file outside the export's folder: notification dead-letters the event and sends nothing.
    forged = [
        ExportCompleted(
            export_id=export_id,
            requested_by="mallory@evil.test",
            kind="accounting",
            format="csv",
            path=receipt.path,
            rows=1,
        ),
        ExportCompleted(
            export_id=export_id,
            requested_by="carole8@ledgerline.test",
            kind="accounting",
            format="csv",
            path="production/../../db/notification.sqlite3",
            rows=1,
        ),
    ]
    for event in forged:
        await _produce(
            kafka_bootstrap, kafka_auth(), EXPORT_COMPLETED, export_id, event.model_dump_json().encode()
        )

    async def dead_letters() -> list[dict] | None:
        dead = await read_topic(kafka_bootstrap, EXPORT_COMPLETED + ".dlq", export_id, wait=False)
        mine = [d for d in dead if d["headers"]["dlq_consumer"] == "notification.export.completed"]
        return mine if len(mine) == 2 else None

    dead = await eventually(dead_letters, 90)
    assert all(export_id in d["headers"]["dlq_error"] for d in dead), dead
    assert sorted(d["data"]["requested_by"] for d in dead) == ["carole8@ledgerline.test", "mallory@evil.test"]
    assert await mailed_to("mallory@evil.test") == []
    assert len(await mailed_to("carole8@ledgerline.test")) == 1


def test_item8_compose_says_the_same() -> None:
    import yaml
    from e2e_support import ROOT

    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    for broker in ("kafka-1", "kafka-2", "kafka-3"):  # the cluster's brokers (issue 13)
        advertised = compose[broker]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
        assert f"SASL_PLAINTEXT://{broker}:9092" in advertised
        assert "PLAINTEXT://" not in advertised.replace("SASL_PLAINTEXT://", "")
    # Every node's properties come from deploy/kafka-node.properties.sh (compose-kafka.sh calls it).
    props = subprocess.run(
        [
            "bash",
            "-c",
            "source deploy/kafka-node.properties.sh; kafka_node_properties broker 1 v l a m pw d 3 2",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    assert "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer" in props
    assert "allow.everyone.if.no.acl.found=false" in props
    assert "--acls" in compose["kafka-init"]["command"]
    assert compose["kafka-init"]["environment"]["LEDGERLINE_KAFKA_USERNAME"] == "admin"
    for service in ("invoicing", "rendering", "notification", "export"):
        env = compose[service]["environment"]
        assert env["LEDGERLINE_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
        assert env["LEDGERLINE_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert env["LEDGERLINE_KAFKA_USERNAME"] == service  # its own principal
        assert f"LEDGERLINE_KAFKA_{service.upper()}_PASSWORD" in env["LEDGERLINE_KAFKA_PASSWORD"]
