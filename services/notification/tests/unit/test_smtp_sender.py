"""The SMTP sender against a real aiosmtpd server on 127.0.0.1 (STARTTLS, implicit TLS, AUTH)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import uuid
from email.message import EmailMessage

import pytest

from ledgerline_notification.adapters.smtp_sender import SendReceipt, SmtpConfig, SmtpSender, envelope_of
from ledgerline_notification.domain.delivery_errors import (
    InvalidRecipientError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from ledgerline_notification.domain.message import DocumentEmail, build_message
from ledgerline_notification.domain.retry_policy import RetryPolicy
from ledgerline_shared.contracts.document import DocumentType, Recipient
from ledgerline_shared.settings import Settings

from .conftest import SMTP_PASSWORD, SMTP_USER, RecordingHandler, StartServer, TlsFiles, free_port

SENDER = "Ledgerline Billing <billing@ledgerline.test>"
RECIPIENTS = [
    Recipient(name="Zoé Müller", email="zoe.muller@client.example"),
    Recipient(name="Accounts Payable", email="ap@client.example"),
    Recipient(name="Jean-Éric O'Brien", email="jean-eric@other.example"),
]
POLICY = RetryPolicy(retry_for_s=900)


def config(port: int, tls_files: TlsFiles, **overrides: object) -> SmtpConfig:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "starttls": True,
        "username": SMTP_USER,
        "password": SMTP_PASSWORD,
        "timeout_s": 5.0,
        "ca_file": tls_files.cert,
    }
    values.update(overrides)
    return SmtpConfig(**values)  # type: ignore[arg-type]


def invoice_message(
    language: str = "fr", *, delivery_id: uuid.UUID | None = None, pdf: bytes = b""
) -> EmailMessage:
    mail = DocumentEmail(
        delivery_id=delivery_id or uuid.uuid4(),
        document_type=DocumentType.INVOICE,
        number="F-2026-000123",
        pdf=pdf or b"%PDF-1.7\n" + os.urandom(64 * 1024),
        recipients=RECIPIENTS,
        language=language,
        issue_date=dt.date(2026, 1, 31),
    )
    return build_message(mail, sender=SENDER)


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("fr", "Facture F-2026-000123 du 31/01/2026"),  # no rendered JSON given: the thin e-mail
        ("en", "Invoice F-2026-000123 of 31 Jan 2026"),
    ],
)
async def test_starttls_and_auth_deliver_to_every_recipient_with_the_pdf_intact(
    smtp_server: StartServer, tls_files: TlsFiles, language: str, subject: str
) -> None:
    server = smtp_server("starttls", auth=True)
    delivery_id = uuid.uuid4()
    pdf = b"%PDF-1.7\n" + os.urandom(150 * 1024) + b"\n.\r\n..\r\n%%EOF"  # dots test SMTP dot-stuffing
    async with SmtpSender(config(server.port, tls_files)) as sender:
        receipt = await sender.send(invoice_message(language, delivery_id=delivery_id, pdf=pdf))

    assert receipt.response == "250 2.0.0 OK queued as Q0001"
    assert receipt.message_id == f"<{delivery_id}@ledgerline>"
    assert receipt.recipients == tuple(r.email for r in RECIPIENTS)
    assert receipt.refused == {}
    (received,) = server.handler.received
    assert received.tls and received.authenticated
    assert received.mail_from == "billing@ledgerline.test"
    assert received.rcpt_tos == [r.email for r in RECIPIENTS]
    message = received.message()
    assert [(a.display_name, a.addr_spec) for a in message["To"].addresses] == [
        (r.name, r.email) for r in RECIPIENTS
    ]
    assert message["Subject"] == subject
    assert message["Message-ID"] == f"<{delivery_id}@ledgerline>"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "F-2026-000123.pdf"
    assert attachment.get_payload(decode=True) == pdf


async def test_implicit_tls_delivers(smtp_server: StartServer, tls_files: TlsFiles) -> None:
    server = smtp_server("tls", auth=True)
    async with SmtpSender(config(server.port, tls_files, starttls=False, use_tls=True)) as sender:
        receipt = await sender.send(invoice_message())
    assert receipt.response.startswith("250 ")
    (received,) = server.handler.received
    assert received.tls and received.authenticated


async def test_a_wrong_password_is_a_permanent_failure(smtp_server: StartServer, tls_files: TlsFiles) -> None:
    server = smtp_server("starttls", auth=True)
    async with SmtpSender(config(server.port, tls_files, password="wrong")) as sender:
        with pytest.raises(PermanentDeliveryError) as failed:
            await sender.send(invoice_message())
    assert failed.value.smtp_code == 535
    assert failed.value.stage == "auth"
    assert not POLICY.should_retry(failed.value, elapsed=1.0)
    assert server.handler.received == []


async def test_credentials_without_tls_fail_permanently(
    smtp_server: StartServer, tls_files: TlsFiles
) -> None:
    # The server offers AUTH only after STARTTLS (auth_require_tls): a configuration error, final.
    server = smtp_server("starttls", auth=True)
    async with SmtpSender(config(server.port, tls_files, starttls=False)) as sender:
        with pytest.raises(PermanentDeliveryError) as failed:
            await sender.send(invoice_message())
    assert failed.value.stage == "auth"
    assert server.handler.received == []


async def test_a_451_reply_is_a_temporary_failure_worth_retrying(
    smtp_server: StartServer, tls_files: TlsFiles
) -> None:
    server = smtp_server(
        "starttls", handler=RecordingHandler(data_reply="451 4.3.0 Mail server busy, try later")
    )
    async with SmtpSender(config(server.port, tls_files)) as sender:
        with pytest.raises(TemporaryDeliveryError) as failed:
            await sender.send(invoice_message())
    assert failed.value.smtp_code == 451
    assert failed.value.stage == "data"
    assert "451 4.3.0 Mail server busy" in str(failed.value)
    assert POLICY.should_retry(failed.value, elapsed=30.0)
    assert not POLICY.should_retry(failed.value, elapsed=900.0)


async def test_a_550_at_data_is_permanent(smtp_server: StartServer, tls_files: TlsFiles) -> None:
    server = smtp_server(
        "starttls", handler=RecordingHandler(data_reply="550 5.7.1 Message rejected as spam")
    )
    async with SmtpSender(config(server.port, tls_files)) as sender:
        with pytest.raises(PermanentDeliveryError) as failed:
            await sender.send(invoice_message())
    assert (failed.value.smtp_code, failed.value.stage) == (550, "data")
    assert not POLICY.should_retry(failed.value, elapsed=1.0)


async def test_every_recipient_refused_with_550_is_permanent(
    smtp_server: StartServer, tls_files: TlsFiles
) -> None:
    handler = RecordingHandler(rcpt_reply=lambda address: "550 5.1.1 No such user")
    server = smtp_server("starttls", handler=handler)
    async with SmtpSender(config(server.port, tls_files)) as sender:
        with pytest.raises(PermanentDeliveryError) as failed:
            await sender.send(invoice_message())
    assert (failed.value.smtp_code, failed.value.stage) == (550, "rcpt")
    assert set(failed.value.refused) == {r.email for r in RECIPIENTS}
    assert not POLICY.should_retry(failed.value, elapsed=1.0)
    assert server.handler.received == []


async def test_every_recipient_greylisted_is_temporary(smtp_server: StartServer, tls_files: TlsFiles) -> None:
    handler = RecordingHandler(rcpt_reply=lambda address: "451 4.7.1 Greylisted, come back later")
    server = smtp_server("starttls", handler=handler)
    async with SmtpSender(config(server.port, tls_files)) as sender:
        with pytest.raises(TemporaryDeliveryError) as failed:
            await sender.send(invoice_message())
    assert POLICY.should_retry(failed.value, elapsed=1.0)


async def test_some_recipients_refused_still_delivers_to_the_others(
    smtp_server: StartServer, tls_files: TlsFiles
) -> None:
    handler = RecordingHandler(rcpt_reply=lambda a: "550 5.1.1 No such user" if a.startswith("ap@") else None)
    server = smtp_server("starttls", handler=handler)
    async with SmtpSender(config(server.port, tls_files)) as sender:
        receipt = await sender.send(invoice_message())
    assert receipt.refused == {"ap@client.example": "550 5.1.1 No such user"}
    assert receipt.recipients == ("zoe.muller@client.example", "jean-eric@other.example")
    assert server.handler.received[0].rcpt_tos == list(receipt.recipients)


async def test_connection_refused_is_temporary(tls_files: TlsFiles) -> None:
    async with SmtpSender(config(free_port(), tls_files)) as sender:
        with pytest.raises(TemporaryDeliveryError) as failed:
            await sender.send(invoice_message())
    assert failed.value.stage == "connect"
    assert failed.value.smtp_code is None
    assert POLICY.should_retry(failed.value, elapsed=1.0)


async def test_an_untrusted_certificate_is_refused(smtp_server: StartServer, tls_files: TlsFiles) -> None:
    server = smtp_server("starttls", auth=True)
    # No CA file: the system store does not trust the test's self-signed certificate.
    async with SmtpSender(config(server.port, tls_files, ca_file=None)) as sender:
        with pytest.raises(TemporaryDeliveryError) as failed:
            await sender.send(invoice_message())
    assert failed.value.stage == "connect"
    assert "certificate" in str(failed.value).lower()
    assert server.handler.received == []


async def test_one_connection_carries_several_messages(smtp_server: StartServer, tls_files: TlsFiles) -> None:
    server = smtp_server("starttls", auth=True)
    async with SmtpSender(config(server.port, tls_files), pool_size=1) as sender:
        receipts = [await sender.send(invoice_message()) for _ in range(4)]
    assert [r.response for r in receipts] == [f"250 2.0.0 OK queued as Q{n:04d}" for n in range(1, 5)]
    assert len({received.peer for received in server.handler.received}) == 1


async def test_concurrent_sends_use_at_most_the_pool_size(
    smtp_server: StartServer, tls_files: TlsFiles
) -> None:
    server = smtp_server("starttls", auth=True)
    async with SmtpSender(config(server.port, tls_files), pool_size=2) as sender:
        receipts = await asyncio.gather(*(sender.send(invoice_message()) for _ in range(6)))
    assert all(isinstance(r, SendReceipt) and r.response.startswith("250 ") for r in receipts)
    assert len(server.handler.received) == 6
    assert len({received.peer for received in server.handler.received}) <= 2


async def test_a_failed_transaction_does_not_poison_the_next_one(
    smtp_server: StartServer, tls_files: TlsFiles
) -> None:
    handler = RecordingHandler(data_reply="451 4.3.0 try later")
    server = smtp_server("starttls", handler=handler)
    async with SmtpSender(config(server.port, tls_files), pool_size=1) as sender:
        with pytest.raises(TemporaryDeliveryError):
            await sender.send(invoice_message())
        handler.data_reply = None
        receipt = await sender.send(invoice_message())
    assert receipt.response.startswith("250 ")
    assert len(handler.received) == 1


async def test_a_connection_dropped_by_a_restarted_server_is_replaced(
    smtp_server: StartServer, tls_files: TlsFiles
) -> None:
    first = smtp_server("starttls", auth=True)
    async with SmtpSender(config(first.port, tls_files), pool_size=1, probe_after_idle_s=0.0) as sender:
        await sender.send(invoice_message())
        first.stop()
        second = smtp_server("starttls", auth=True, port=first.port)
        receipt = await sender.send(invoice_message())
    assert receipt.response == "250 2.0.0 OK queued as Q0001"
    assert len(first.handler.received) == 1 and len(second.handler.received) == 1


async def test_a_closed_sender_refuses_to_send(tls_files: TlsFiles) -> None:
    sender = SmtpSender(config(free_port(), tls_files))
    await sender.aclose()
    with pytest.raises(RuntimeError):
        await sender.send(invoice_message())


async def test_an_invalid_address_never_reaches_the_server(
    smtp_server: StartServer, tls_files: TlsFiles
) -> None:
    """A message assembled elsewhere (not by build_message) is checked again before SMTP."""
    server = smtp_server("starttls", auth=True)
    message = EmailMessage()
    message["From"] = "billing@ledgerline.test"
    message["To"] = "victim@client.example, spy@evil"  # no dot in the domain: not a practical address
    message.set_content("hello")
    with pytest.raises(InvalidRecipientError):
        envelope_of(message)
    async with SmtpSender(config(server.port, tls_files)) as sender:
        with pytest.raises(InvalidRecipientError):
            await sender.send(message)
    assert server.handler.received == []


def test_config_from_settings_reads_the_smtp_settings(tls_files: TlsFiles) -> None:
    settings = Settings(
        smtp_host="127.0.0.1",
        smtp_port=2587,
        smtp_starttls=True,
        smtp_username="u",
        smtp_password="s3cret-Pa55",
        smtp_timeout_s=7.5,
    )
    smtp = SmtpConfig.from_settings(settings, ca_file=tls_files.cert)
    assert (smtp.port, smtp.starttls, smtp.use_tls, smtp.username, smtp.timeout_s) == (
        2587,
        True,
        False,
        "u",
        7.5,
    )
    assert smtp.password == "s3cret-Pa55" and "s3cret-Pa55" not in repr(smtp)  # not in logs
    context = smtp.tls_context()
    assert context is not None and context.check_hostname
    with pytest.raises(ValueError):
        SmtpConfig(starttls=True, use_tls=True)


async def test_before_transaction_runs_once_the_message_has_its_connection(
    smtp_server: StartServer, tls_files: TlsFiles
) -> None:
    """With one connection, the second message's hook runs only after the first message arrived:
    a caller marking "the SMTP transaction began" there never marks a message still waiting."""
    server = smtp_server("starttls")
    began: list[int] = []  # messages received by the server when each hook ran

    async def hook() -> None:
        began.append(len(server.handler.received))

    async with SmtpSender(config(server.port, tls_files), pool_size=1) as sender:
        await asyncio.gather(*(sender.send(invoice_message(), before_transaction=hook) for _ in range(3)))
    assert began == [0, 1, 2]
    assert len(server.handler.received) == 3


async def test_a_hook_that_raises_sends_nothing_and_keeps_the_connection(
    smtp_server: StartServer, tls_files: TlsFiles
) -> None:
    server = smtp_server("starttls")

    async def refuse() -> None:
        raise LookupError("the claim was taken over")

    async with SmtpSender(config(server.port, tls_files), pool_size=1) as sender:
        await sender.send(invoice_message())
        with pytest.raises(LookupError):
            await sender.send(invoice_message(), before_transaction=refuse)
        assert len(server.handler.received) == 1
        await sender.send(invoice_message())
    first, after = server.handler.received
    assert first.peer == after.peer  # the untouched connection carried the next message
