"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the notification tests: STARTTLS or implicit TLS
with a certificate made here, AUTH, and replies the test can turn into failures."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ledgerline_shared.contracts.document import (
    Address,
    Document,
    DocumentLine,
    DocumentReference,
    DocumentType,
    Party,
    PaymentDetails,
    Recipient,
    TaxSubtotal,
    Totals,
)

SMTP_USER = "billing"
SMTP_PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1 and localhost; the client trusts it as its CA file."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ledgerline test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "smtp.crt", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return TlsFiles(cert_path, key_path)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    peer: Any
    tls: bool
    authenticated: bool

    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.content)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class RecordingHandler:
    """Keeps what arrives; `rcpt_reply` / `data_reply` make the server refuse instead."""

    received: list[Received] = field(default_factory=list)
    rcpt_reply: Callable[[str], str | None] = lambda address: None
    data_reply: str | None = None
    connections: int = 0

    async def handle_EHLO(
        self, server: Any, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        refusal = self.rcpt_reply(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.data_reply:
            return self.data_reply
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        self.received.append(
            Received(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                content=content,
                peer=session.peer,
                tls=server.transport.get_extra_info("ssl_object") is not None,
                authenticated=bool(session.authenticated),
            )
        )
        return f"250 2.0.0 OK queued as Q{len(self.received):04d}"


def authenticate(
    server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == SMTP_USER.encode()
        and auth_data.password == SMTP_PASSWORD.encode()
    )
    # handled=False: aiosmtpd answers the failure itself (535), as a real server would.
    return AuthResult(success=ok, handled=False)


@dataclass
class RunningServer:
    port: int
    handler: RecordingHandler
    controller: Controller

    def stop(self) -> None:
        self.controller.stop()


StartServer = Callable[..., RunningServer]


@pytest.fixture
def smtp_server(tls_files: TlsFiles) -> Iterator[StartServer]:
    """`smtp_server(mode="starttls"|"tls"|"plain", auth=True, port=None)` starts one; all stop at the end."""
    started: list[RunningServer] = []

    def start(
        mode: str = "starttls",
        *,
        auth: bool = True,
        port: int | None = None,
        handler: RecordingHandler | None = None,
    ) -> RunningServer:
        handler = handler or RecordingHandler()
        port = port or free_port()
        options: dict[str, Any] = {}
        if mode == "starttls":
            options.update(tls_context=tls_files.server_context(), require_starttls=True)
        elif mode == "tls":
            options.update(ssl_context=tls_files.server_context())
        if auth:
            # aiosmtpd counts only STARTTLS as TLS for auth_require_tls, not an implicit-TLS socket.
            options.update(authenticator=authenticate, auth_require_tls=mode == "starttls")
        controller = Controller(
            handler, hostname="127.0.0.1", port=port, server_hostname="smtp.test", **options
        )
        controller.start()
        server = RunningServer(port, handler, controller)
        started.append(server)
        return server

    yield start
    for server in started:
        try:
            server.stop()
        except (AssertionError, RuntimeError):
            pass  # stopped by the test already


# -- the rendered JSON of a document, as the e-mail reads it beside the PDF --------------------------


def client_document(
    number: str = "F2026-000123",
    type: str = "invoice",
    language: str = "fr",
    *,
    buyer_name: str = "ACME Télécom",
    reason: str | None = None,
) -> Document:
    """An invoice of 1 234,50 € incl. VAT (1 028,75 € + 205,75 € VAT) for January 2026, issued on
    31 Jan 2026 and due on 2 Mar 2026; a credit note corrects F2026-000099 of 31 Dec 2025."""
    seller_address = Address(line1="12 rue des Lignes", postcode="75011", city="Paris", country="FR")
    net, tax = Decimal("1028.75"), Decimal("205.75")
    credit_note = type == "credit_note"
    return Document(
        id=uuid.uuid4(),
        number=number,
        type=DocumentType(type),
        issue_date=dt.date(2026, 1, 31),
        due_date=dt.date(2026, 3, 2),
        period="2026-01",
        language=language,
        seller=Party(name="Ledgerline Télécom SAS", address=seller_address, email="billing@ledgerline.test"),
        buyer=Party(
            name=buyer_name,
            address=Address(line1="3 avenue Jean Jaurès", postcode="69007", city="Lyon", country="FR"),
            recipients=[Recipient(name="Zoé Müller", email="zoe@client.example")],
        ),
        lines=[
            DocumentLine(
                line_no=1,
                label="Forfait Pro",
                quantity=Decimal(1),
                unit_price=net,
                net_amount=net,
                vat_rate=Decimal("20.00"),
            )
        ],
        tax_breakdown=[TaxSubtotal(vat_rate=Decimal("20.00"), taxable_amount=net, tax_amount=tax)],
        totals=Totals(net_total=net, tax_total=tax, gross_total=net + tax, amount_due=net + tax),
        references=[DocumentReference(number="F2026-000099", issue_date=dt.date(2025, 12, 31))]
        if credit_note
        else [],
        reason=reason or ("Facturé deux fois" if credit_note else None),
        payment=PaymentDetails(
            iban="FR76 3000 6000 0112 3456 7890 189",
            bic="AGRIFRPPXXX",
            bank_name="Banque Exemple",
            reference=number,
        ),
    )
