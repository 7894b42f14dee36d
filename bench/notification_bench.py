"""Notification throughput: e-mails per second with a 100 KB PDF through the service's SmtpSender
(reused connections) against raw `aiosmtplib.send` (one connection per e-mail), in the same run,
to a local aiosmtpd server running in its own process: plain SMTP, and STARTTLS + AUTH as in
production. Rounds alternate sender and baseline and the median is kept, as the machine is shared.
Writes bench/results/notification.json.

Run: .venv/bin/python bench/notification_bench.py
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
from measure import save, stage

from ledgerline_notification.adapters.smtp_sender import SmtpConfig, SmtpSender
from ledgerline_notification.domain.message import DocumentEmail, build_message
from ledgerline_shared.contracts.document import DocumentType, Recipient

ROOT = Path(__file__).resolve().parent.parent
ATTACHMENT_BYTES = 100 * 1024
MESSAGES = 100  # per round and side
ROUNDS = 3
CONCURRENCY = 4
SENDER = "Ledgerline Billing <billing@ledgerline.test>"
USER, PASSWORD = "bench", "bench-password"


class _CountingHandler:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return f"250 2.0.0 OK queued as B{self.count}"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult

    ok = getattr(auth_data, "login", b"") == USER.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


def serve(plain_port: int, tls_port: int, cert: str, key: str) -> None:
    """The SMTP server process: plain SMTP, and STARTTLS + AUTH; accepts everything, keeps nothing."""
    import logging

    from aiosmtpd.controller import Controller

    # aiosmtpd 1.4 logs a warning about its own deprecated Session.login_data on every AUTH.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = _CountingHandler()
    plain = Controller(handler, hostname="127.0.0.1", port=plain_port)
    secure = Controller(
        handler,
        hostname="127.0.0.1",
        port=tls_port,
        tls_context=context,
        require_starttls=True,
        authenticator=_authenticate,
        auth_require_tls=True,
    )
    plain.start()
    secure.start()
    try:
        sys.stdin.read()  # runs until the bench closes our stdin
    finally:
        plain.stop()
        secure.stop()


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ledgerline bench SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.crt", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for(port: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"SMTP server did not start on port {port}")


def _messages(count: int) -> list[EmailMessage]:
    pdf = b"%PDF-1.7\n" + os.urandom(ATTACHMENT_BYTES - 9)
    recipients = [
        Recipient(name="Zoé Müller", email="zoe@client.example"),
        Recipient(name="Accounts Payable", email="ap@client.example"),
    ]
    return [
        build_message(
            DocumentEmail(uuid.uuid4(), DocumentType.INVOICE, f"F-2026-{n:06d}", pdf, recipients),
            sender=SENDER,
        )
        for n in range(count)
    ]


async def _timed(
    messages: list[EmailMessage], concurrency: int, send: Callable[[EmailMessage], Awaitable[Any]]
) -> float:
    queue = list(reversed(messages))

    async def worker() -> None:
        while queue:
            await send(queue.pop())

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(messages) / (time.perf_counter() - start)


async def _sender_rate(config: SmtpConfig, messages: list[EmailMessage], concurrency: int) -> float:
    async with SmtpSender(config, pool_size=concurrency) as sender:
        return await _timed(messages, concurrency, sender.send)


async def _raw_rate(config: SmtpConfig, messages: list[EmailMessage], concurrency: int) -> float:
    tls_context = config.tls_context()

    async def send(message: EmailMessage) -> object:
        return await aiosmtplib.send(
            message,
            hostname=config.host,
            port=config.port,
            start_tls=config.starttls,
            tls_context=tls_context,
            username=config.username,
            password=config.password,
            timeout=30,
        )

    return await _timed(messages, concurrency, send)


def _case(config: SmtpConfig, messages: list[EmailMessage], concurrency: int) -> dict[str, float]:
    asyncio.run(_sender_rate(config, messages[:5], concurrency))  # warm up both paths
    asyncio.run(_raw_rate(config, messages[:5], concurrency))
    sender_rates, raw_rates = [], []
    for _ in range(ROUNDS):  # alternated, so a burst of load elsewhere hits both sides
        sender_rates.append(asyncio.run(_sender_rate(config, messages, concurrency)))
        raw_rates.append(asyncio.run(_raw_rate(config, messages, concurrency)))
    sender, raw = statistics.median(sender_rates), statistics.median(raw_rates)
    return {
        "sender_rates": sender_rates,  # type: ignore[dict-item]
        "raw_rates": raw_rates,  # type: ignore[dict-item]
        "emails_per_round": len(messages),
        "rounds": ROUNDS,
        "concurrency": concurrency,
        "sender_emails_per_s": round(sender, 1),
        "raw_aiosmtplib_send_emails_per_s": round(raw, 1),
        "ratio_sender_over_raw": round(sender / raw, 3),
    }


def main() -> None:
    plain_port, tls_port = _free_port(), _free_port()
    with tempfile.TemporaryDirectory() as folder:
        cert, key = _self_signed(Path(folder))
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(plain_port), str(tls_port), str(cert), str(key)],
            stdin=subprocess.PIPE,
            cwd=str(ROOT),
        )
        try:
            _wait_for(plain_port)
            _wait_for(tls_port)
            messages = _messages(MESSAGES)
            plain = SmtpConfig(host="127.0.0.1", port=plain_port, timeout_s=30)
            secure = SmtpConfig(
                host="127.0.0.1",
                port=tls_port,
                starttls=True,
                username=USER,
                password=PASSWORD,
                timeout_s=30,
                ca_file=cert,
            )
            results: dict[str, dict[str, float]] = {}
            for name, config, concurrency in (
                ("plain_sequential", plain, 1),
                (f"plain_concurrency_{CONCURRENCY}", plain, CONCURRENCY),
                ("starttls_auth_sequential", secure, 1),
            ):
                results[name] = _case(config, messages, concurrency)
                print(name, results[name], flush=True)
        finally:
            assert server.stdin is not None
            server.stdin.close()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    headline = results["starttls_auth_sequential"]
    out = {
        "bench": "notification",
        "unit": "emails/s",
        "attachment_bytes": ATTACHMENT_BYTES,
        "recipients_per_email": 2,
        "cpu_count": os.cpu_count(),
        "server": "aiosmtpd, separate process, 127.0.0.1 (plain; STARTTLS + AUTH), accepts and discards",
        "service": "SmtpSender (pooled, reused connections; MAIL/RCPT/DATA driven directly)",
        "baseline": "aiosmtplib.send(message) per e-mail (new connection, TLS handshake and login each time)",
        "headline_case": "starttls_auth_sequential (the production configuration)",
        "rate": headline["sender_emails_per_s"],
        "baseline_rate": headline["raw_aiosmtplib_send_emails_per_s"],
        "ratio": headline["ratio_sender_over_raw"],
        "results": results,
    }
    rates: Any = headline
    # Seconds per e-mail of each round, so each round's ratio is the sender's rate over the raw one.
    headline_stage = stage(
        "e-mail, STARTTLS + AUTH, sequential (rate vs aiosmtplib.send)",
        [1 / r for r in rates["raw_rates"]],
        [1 / r for r in rates["sender_rates"]],
        None,
        rate=True,
    )
    save("notification", [headline_stage], out)


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5])
    else:
        main()
