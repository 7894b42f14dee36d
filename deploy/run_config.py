"""`make run`'s configuration: the operator's LEDGERLINE_* variables first, make run's values where unset.

The rule (docs/operations.md): every LEDGERLINE_* variable set in the environment of `make run` reaches
every process it starts and wins; make run's own values (a local broker, a mail catcher, SQLite under
var/run, ports 8101-8105 and 8080, four eyes on billing runs) are defaults for what is unset. Naming
an outside service replaces the local one: LEDGERLINE_KAFKA_BOOTSTRAP_SERVERS (no local broker),
LEDGERLINE_SMTP_HOST (no mail catcher), LEDGERLINE_<SERVICE>_DATABASE_URL (that service off SQLite).

Test stacks never come through here: they are hermetic (StackConfig.inherit_environment is False).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ledgerline_stack import BACKOFFICE, ROOT, SERVICES, StackConfig

# make run's own defaults (each overridable by the variable named beside it)
DEFAULT_RUN_DIR = ROOT / "var" / "run"  # LEDGERLINE_RUN_DIR: logs, broker, caught mail, demo logins
DEFAULT_PORTS = dict(zip((*SERVICES, BACKOFFICE), (8101, 8102, 8103, 8104, 8105), strict=True))
DEFAULT_GATEWAY_PORT = 8080  # LEDGERLINE_GATEWAY_PORT
DEFAULT_KAFKA_PORT = 9092  # LEDGERLINE_LOCAL_KAFKA_PORT: the local broker (its controller: the next port)
DEFAULT_SMTP_PORT = 2525  # LEDGERLINE_SMTP_PORT: the mail catcher's, or the relay's
DEFAULT_MAIL_CATCHER_PORT = 8025  # LEDGERLINE_MAIL_CATCHER_PORT: the caught mail's web page
DEFAULT_SFTP_PORT = 2222  # LEDGERLINE_SFTP_PORT
DEFAULT_SERVICE_ENV = {"LEDGERLINE_RUN_APPROVAL_REQUIRED": "true"}  # four eyes before production (issue 15)

_SECRET_WORDS = ("SECRET", "PASSWORD", "TOKEN", "KEY")


@dataclass(frozen=True)
class LocalKafka:
    """The broker make run starts (deploy/kafka.sh) when the operator names none; with `cluster` set
    (make run-cluster), that many brokers on `port` and the next ports, and 3 controllers of their own."""

    port: int
    data_dir: Path
    cluster: int = 0  # brokers of `deploy/kafka.sh cluster`; 0: one combined broker and controller

    @property
    def controller_port(self) -> int:
        return self.port + max(self.cluster, 1)  # the cluster's 3 controllers right after its brokers

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.port + i}" for i in range(max(self.cluster, 1)))


@dataclass(frozen=True)
class MailCatcher:
    """The SMTP server make run starts (deploy/mail_catcher.py) when the operator names no relay."""

    smtp_port: int
    http_port: int
    folder: Path


@dataclass(frozen=True)
class RunConfig:
    run_dir: Path
    stack: StackConfig
    kafka: LocalKafka | None  # None: the operator's cluster (LEDGERLINE_KAFKA_BOOTSTRAP_SERVERS)
    mail: MailCatcher | None  # None: the operator's relay (LEDGERLINE_SMTP_HOST)
    from_environment: dict[str, str]  # every LEDGERLINE_* the operator set, secrets masked (the banner)


def run_config(
    environ: Mapping[str, str], jwt_secret: str | None = None, *, kafka_cluster: int = 0
) -> RunConfig:
    """make run's configuration for this environment. `jwt_secret` is make run's own (var/run/jwt-secret),
    used only when LEDGERLINE_JWT_SECRET is unset. `kafka_cluster`: make run-cluster's number of brokers
    (0: make run's single broker)."""

    def value(name: str, default: str) -> str:
        return environ.get(name) or default

    def port(name: str, default: int) -> int:
        return int(value(name, str(default)))

    run_dir = Path(value("LEDGERLINE_RUN_DIR", str(DEFAULT_RUN_DIR)))
    kafka: LocalKafka | None = None
    bootstrap = environ.get("LEDGERLINE_KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        folder = run_dir / ("kafka-cluster" if kafka_cluster else "kafka")
        kafka = LocalKafka(port("LEDGERLINE_LOCAL_KAFKA_PORT", DEFAULT_KAFKA_PORT), folder, kafka_cluster)
        bootstrap = kafka.bootstrap
    smtp_port = port("LEDGERLINE_SMTP_PORT", DEFAULT_SMTP_PORT)
    mail: MailCatcher | None = None
    if not environ.get("LEDGERLINE_SMTP_HOST"):
        mail = MailCatcher(
            smtp_port, port("LEDGERLINE_MAIL_CATCHER_PORT", DEFAULT_MAIL_CATCHER_PORT), run_dir / "mail"
        )
    secret = environ.get("LEDGERLINE_JWT_SECRET") or jwt_secret
    if not secret:
        raise ValueError("no JWT secret: set LEDGERLINE_JWT_SECRET or let make run keep one in its folder")
    stack = StackConfig(
        kafka=bootstrap,
        data_dir=Path(value("LEDGERLINE_DATA_DIR", str(run_dir / "data"))),
        jwt_secret=secret,
        smtp_host=value("LEDGERLINE_SMTP_HOST", "127.0.0.1"),
        smtp_port=smtp_port,
        sftp_port=port("LEDGERLINE_SFTP_PORT", DEFAULT_SFTP_PORT),
        ports={
            name: port(f"LEDGERLINE_{name.upper()}_PORT", default) for name, default in DEFAULT_PORTS.items()
        },
        gateway_port=port("LEDGERLINE_GATEWAY_PORT", DEFAULT_GATEWAY_PORT),
        gateway_dir=Path(value("LEDGERLINE_GATEWAY_DIR", str(run_dir / "gateway"))),
        database_urls={
            svc: url for svc in SERVICES if (url := environ.get(f"LEDGERLINE_{svc.upper()}_DATABASE_URL"))
        },
        extra_env=dict(DEFAULT_SERVICE_ENV),
        kafka_credentials=kafka.data_dir / "credentials" if kafka is not None else None,
        inherit_environment=True,
    )
    shown = {
        name: shown_value(name, v) for name, v in sorted(environ.items()) if name.startswith("LEDGERLINE_")
    }
    return RunConfig(run_dir, stack, kafka, mail, shown)


def shown_value(name: str, value: str) -> str:
    """A variable's value as the banner may print it: no secret, no password inside a URL."""
    if any(word in name for word in _SECRET_WORDS):
        return "(set)"
    if "://" in value:
        parts = urlsplit(value)
        if parts.password:
            return value.replace(f":{parts.password}@", ":***@", 1)
    return value
