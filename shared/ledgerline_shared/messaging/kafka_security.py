"""How a service authenticates to Kafka: LEDGERLINE_KAFKA_SECURITY_PROTOCOL, _SASL_MECHANISM, _USERNAME,
_PASSWORD. Each service is its own principal (SASL/SCRAM-SHA-512 by default); the broker's ACLs let it
write only the topics it produces and read only those it consumes (deploy/kafka_acls.py).
"""

from __future__ import annotations

from typing import Any

from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from ledgerline_shared.settings import Settings

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = {"SCRAM-SHA-512": SASLScram512, "SCRAM-SHA-256": SASLScram256, "PLAIN": SASLPlaintext}


def kafka_security_problem(settings: Settings) -> str | None:
    """Why these Kafka settings cannot work (one line), or None."""
    protocol = settings.kafka_security_protocol.upper()
    if protocol not in PROTOCOLS:
        return f"LEDGERLINE_KAFKA_SECURITY_PROTOCOL={protocol} is not one of {', '.join(PROTOCOLS)}"
    if protocol.startswith("SASL_"):
        if settings.kafka_sasl_mechanism.upper() not in MECHANISMS:
            return f"LEDGERLINE_KAFKA_SASL_MECHANISM={settings.kafka_sasl_mechanism} is not supported"
        if not settings.kafka_username or not settings.kafka_password:
            return f"{protocol} needs LEDGERLINE_KAFKA_USERNAME and LEDGERLINE_KAFKA_PASSWORD"
    return None


def _uses_tls(protocol: str) -> bool:
    return protocol in ("SSL", "SASL_SSL")


def bootstrap_servers(settings: Settings) -> list[str]:
    """LEDGERLINE_KAFKA_BOOTSTRAP_SERVERS as a list of host:port. A cluster's is comma-separated:
    aiokafka splits such a string itself, FastStream's KafkaBroker takes it as one server."""
    return [server.strip() for server in settings.kafka_bootstrap_servers.split(",") if server.strip()]


def kafka_client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client (producer, consumer, admin)."""
    protocol = settings.kafka_security_protocol.upper()
    options: dict[str, Any] = {"security_protocol": protocol}
    if _uses_tls(protocol):
        from aiokafka.helpers import create_ssl_context

        options["ssl_context"] = create_ssl_context()  # the system's CAs, hostname checked
    if protocol.startswith("SASL_"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism.upper()
        options["sasl_plain_username"] = settings.kafka_username
        options["sasl_plain_password"] = settings.kafka_password
    return options


def faststream_security(settings: Settings) -> BaseSecurity | None:
    """The same credentials for FastStream's KafkaBroker (which also shows them in AsyncAPI, unvalued)."""
    protocol = settings.kafka_security_protocol.upper()
    if protocol.startswith("SASL_") and settings.kafka_username and settings.kafka_password:
        kind = MECHANISMS[settings.kafka_sasl_mechanism.upper()]
        return kind(settings.kafka_username, settings.kafka_password, use_ssl=_uses_tls(protocol))
    if _uses_tls(protocol):
        return BaseSecurity(use_ssl=True)
    return None
