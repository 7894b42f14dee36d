"""Sending built e-mails over SMTP with aiosmtplib: STARTTLS or implicit TLS, optional AUTH,
a few reused connections, every failure turned into a Temporary- or PermanentDeliveryError.

The transaction (MAIL, RCPT per recipient, DATA) is driven here rather than through
`send_message` so that the DATA reply comes back whole ("250 2.0.0 Ok: queued as ...") and a
failure says at which step it happened. A connection is reused only after a clean transaction;
after any error it is closed, so the next message never inherits a half-finished envelope.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from types import TracebackType

import aiosmtplib
from aiosmtplib.errors import (
    SMTPException,
    SMTPNotSupported,
    SMTPRecipientRefused,
    SMTPRecipientsRefused,
    SMTPResponseException,
)

from ledgerline_notification.domain.delivery_errors import (
    DeliveryError,
    FailureKind,
    InvalidRecipientError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from ledgerline_notification.domain.retry_policy import classify_refusals, classify_reply
from ledgerline_shared.contracts.mail_address import UnsafeHeaderValue, validate_email_address
from ledgerline_shared.settings import Settings


@dataclass(frozen=True)
class SmtpConfig:
    host: str = "127.0.0.1"
    port: int = 2525
    starttls: bool = False  # upgrade a plain connection (port 587 style); required when True
    use_tls: bool = False  # TLS from the first byte (port 465 style)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_s: float = 30.0  # per SMTP command, connection included
    ca_file: Path | None = None  # trust this CA (a test server's self-signed certificate)
    local_hostname: str | None = None  # EHLO name; the machine's FQDN when None

    def __post_init__(self) -> None:
        if self.starttls and self.use_tls:
            raise ValueError("choose STARTTLS or implicit TLS, not both")

    @classmethod
    def from_settings(cls, settings: Settings, *, ca_file: Path | None = None) -> SmtpConfig:
        # `smtp_ca_file` is not a shared setting yet; read it when it appears.
        configured_ca: Path | str | None = getattr(settings, "smtp_ca_file", None)
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            starttls=settings.smtp_starttls,
            use_tls=settings.smtp_tls,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout_s=settings.smtp_timeout_s,
            ca_file=ca_file or (Path(configured_ca) if configured_ca else None),
        )

    def tls_context(self) -> ssl.SSLContext | None:
        if not (self.starttls or self.use_tls):
            return None
        # Certificates and host names are always verified; a test trusts its own CA instead.
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)


@dataclass(frozen=True)
class SendReceipt:
    """What the server said when it took the message."""

    response: str  # the DATA reply, e.g. "250 2.0.0 Ok: queued as 4F2A1"
    recipients: tuple[str, ...]  # accepted at RCPT
    refused: Mapping[str, str]  # address -> reply, for recipients refused while others were taken
    message_id: str | None


@dataclass
class _Connection:
    client: aiosmtplib.SMTP
    messages_sent: int = 0
    last_used: float = field(default_factory=time.monotonic)


def _reply(error: SMTPResponseException) -> str:
    return f"{error.code} {error.message}"


def delivery_error(error: BaseException, stage: str) -> DeliveryError:
    """aiosmtplib's (or the network's) error at `stage`, as the domain's typed error."""
    if isinstance(error, DeliveryError):
        return error
    if isinstance(error, SMTPRecipientsRefused):
        refused = {r.recipient: _reply(r) for r in error.recipients}
        kind = classify_refusals(r.code for r in error.recipients)
        cls = TemporaryDeliveryError if kind is FailureKind.TEMPORARY else PermanentDeliveryError
        first = error.recipients[0] if error.recipients else None
        return cls(
            "all recipients refused" + (f": {first.message}" if first else ""),
            code=first.code if first else None,
            stage="rcpt",
            refused=refused,
        )
    if isinstance(error, SMTPResponseException):
        kind = classify_reply(error.code)
        cls = TemporaryDeliveryError if kind is FailureKind.TEMPORARY else PermanentDeliveryError
        return cls(error.message, code=error.code, stage=stage)
    if isinstance(error, (ConnectionError, TimeoutError, OSError)):
        # Refused, reset, timed out, TLS handshake cut: aiosmtplib's connect/timeout/disconnect
        # errors subclass these, so the network's own errors land here as well.
        return TemporaryDeliveryError(str(error) or type(error).__name__, stage=stage)
    if isinstance(error, SMTPNotSupported):
        # The server lacks what the configuration asks for (STARTTLS, AUTH, SMTPUTF8).
        return PermanentDeliveryError(str(error), stage=stage)
    if isinstance(error, (SMTPException, ValueError)):
        # e.g. "no suitable authentication method", an address aiosmtplib will not send.
        return PermanentDeliveryError(str(error) or type(error).__name__, stage=stage)
    raise TypeError(f"not a delivery failure: {error!r}") from error


def _addresses(message: EmailMessage, *names: str) -> list[str]:
    found: list[str] = []
    for name in names:
        for header in message.get_all(name, []):
            parsed = getattr(header, "addresses", None)  # the default policy's parsed header
            if parsed is not None:
                found.extend(address.addr_spec for address in parsed)
            else:
                found.extend(address for _, address in getaddresses([str(header)]))
    return found


def envelope_of(message: EmailMessage) -> tuple[str, list[str]]:
    """MAIL FROM and RCPT TO from the From/To/Cc headers, each address checked again."""
    senders = _addresses(message, "From")
    recipients = _addresses(message, "To", "Cc")
    if len(senders) != 1:
        raise PermanentDeliveryError("the message needs exactly one From address", stage="build")
    try:
        sender = validate_email_address(senders[0], field="sender")
        addresses = [validate_email_address(address, field="recipient") for address in recipients]
    except UnsafeHeaderValue as exc:
        raise InvalidRecipientError(str(exc)) from exc
    if not addresses:
        raise PermanentDeliveryError("no recipient", stage="build")
    return sender, list(dict.fromkeys(addresses))


class SmtpSender:
    """Sends messages over at most `pool_size` SMTP connections, each reused for several messages.

    Use as `async with SmtpSender(config) as sender: receipt = await sender.send(message)`.
    `send` is safe to call concurrently; each connection carries one transaction at a time.
    """

    def __init__(
        self,
        config: SmtpConfig,
        *,
        pool_size: int = 2,
        max_messages_per_connection: int = 100,
        max_idle_s: float = 30.0,
        probe_after_idle_s: float = 2.0,
    ) -> None:
        if pool_size < 1 or max_messages_per_connection < 1:
            raise ValueError("pool_size and max_messages_per_connection must be at least 1")
        self._config = config
        self._tls_context = config.tls_context()
        self._slots = asyncio.Semaphore(pool_size)
        self._idle: list[_Connection] = []
        self._max_messages = max_messages_per_connection
        self._max_idle_s = max_idle_s  # servers drop idle clients (often after 60-300 s)
        self._probe_after_idle_s = probe_after_idle_s
        self._closed = False

    async def __aenter__(self) -> SmtpSender:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def send(
        self, message: EmailMessage, before_transaction: Callable[[], Awaitable[None]] | None = None
    ) -> SendReceipt:
        """Send one message; raise TemporaryDeliveryError or PermanentDeliveryError on failure.

        `before_transaction` runs once a connection is this message's, right before its SMTP
        transaction: a caller that records "the transaction began" does it then, not while the
        message still waits for a free connection. If it raises, nothing was sent and the
        connection, untouched, is kept for the next message."""
        if self._closed:
            raise RuntimeError("SmtpSender is closed")
        sender, recipients = envelope_of(message)
        raw = message.as_bytes(policy=policy.SMTP)
        async with self._slots:
            connection = await self._checkout()
            if before_transaction is not None:
                try:
                    await before_transaction()
                except BaseException:
                    if self._closed:
                        self._discard(connection)
                    else:
                        self._idle.append(connection)
                    raise
            try:
                receipt = await self._transact(
                    connection.client, sender, recipients, raw, message.get("Message-ID")
                )
            except BaseException:
                # Unknown server state after any failure (or a cancellation): never reuse it.
                self._discard(connection)
                raise
            connection.messages_sent += 1
            connection.last_used = time.monotonic()
            if connection.messages_sent >= self._max_messages or self._closed:
                await self._quit(connection)
            else:
                self._idle.append(connection)
            return receipt

    async def aclose(self) -> None:
        """QUIT every idle connection; later sends raise."""
        self._closed = True
        idle, self._idle = self._idle, []
        await asyncio.gather(*(self._quit(connection) for connection in idle))

    async def _checkout(self) -> _Connection:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()  # most recently used: the likeliest to be alive
            idle_for = now - connection.last_used
            if not connection.client.is_connected or idle_for > self._max_idle_s:
                await self._quit(connection)
                continue
            if idle_for > self._probe_after_idle_s and not await self._alive(connection):
                continue
            return connection
        return await self._open()

    async def _alive(self, connection: _Connection) -> bool:
        try:
            await connection.client.noop()
        except (SMTPException, OSError):
            self._discard(connection)
            return False
        return True

    async def _open(self) -> _Connection:
        config = self._config
        client = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            local_hostname=config.local_hostname,
            timeout=config.timeout_s,
            use_tls=config.use_tls,
            start_tls=config.starttls,  # False means never, not "if offered"
            tls_context=self._tls_context,
        )
        try:
            await client.connect()
        except BaseException as exc:
            client.close()
            if isinstance(exc, Exception):
                raise delivery_error(exc, "connect") from exc
            raise
        if config.username is not None:
            try:
                await client.login(config.username, config.password or "")
            except BaseException as exc:
                client.close()
                if isinstance(exc, Exception):
                    raise delivery_error(exc, "auth") from exc
                raise
        return _Connection(client)

    async def _transact(
        self, client: aiosmtplib.SMTP, sender: str, recipients: list[str], raw: bytes, message_id: str | None
    ) -> SendReceipt:
        mail_options: list[str] = []
        if client.supports_extension("size"):
            mail_options.append(f"SIZE={len(raw)}")
        if not raw.isascii():
            # Only a message built elsewhere can be 8-bit; ours are quoted-printable/base64.
            if not client.supports_extension("8bitmime"):
                raise PermanentDeliveryError("8-bit message and no 8BITMIME on the server", stage="mail")
            mail_options.append("BODY=8BITMIME")
        stage = "mail"
        try:
            await client.mail(sender, options=mail_options)
            stage = "rcpt"
            accepted: list[str] = []
            refused: list[SMTPRecipientRefused] = []
            for recipient in recipients:
                try:
                    await client.rcpt(recipient)
                except SMTPRecipientRefused as exc:
                    refused.append(exc)
                else:
                    accepted.append(recipient)
            if not accepted:
                raise SMTPRecipientsRefused(refused)
            stage = "data"
            response = await client.data(raw)
        except Exception as exc:
            raise delivery_error(exc, stage) from exc
        return SendReceipt(
            response=f"{response.code} {response.message}",
            recipients=tuple(accepted),
            refused={r.recipient: _reply(r) for r in refused},
            message_id=message_id,
        )

    async def _quit(self, connection: _Connection) -> None:
        try:
            await connection.client.quit()
        except (SMTPException, OSError):
            pass  # it is going away either way
        finally:
            connection.client.close()

    def _discard(self, connection: _Connection) -> None:
        connection.client.close()
