"""Configuration from `LEDGERLINE_*` environment variables; defaults give one working machine."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledgerline_shared.lease import check_lease_settings, default_instance_id

ROOT = Path(__file__).resolve().parents[2]  # the repository (an editable install)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEDGERLINE_", extra="ignore")

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Each service its own Kafka principal (deploy/kafka.sh creates them): SASL_PLAINTEXT + SCRAM-SHA-512
    # on the local broker; SASL_SSL where the network is not trusted.
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    kafka_username: str | None = None
    kafka_password: str | None = None
    data_dir: Path = ROOT / "var"

    # No default secret: a service refuses to start without one of 32+ bytes (auth.startup_problem),
    # unless dev_mode is set explicitly; then DEV_JWT_SECRET, public, stands in.
    jwt_secret: str | None = None
    jwt_algorithm: str = "HS256"  # or RS256 / ES256 with jwt_public_key(_file) or jwt_jwks_file
    jwt_public_key: str | None = None  # PEM text
    jwt_public_key_file: Path | None = None  # PEM file
    jwt_jwks_file: Path | None = None  # a JWKS document (the identity provider's keys, chosen by `kid`)
    jwt_issuer: str = "ledgerline"
    jwt_audience: str | None = None  # when set, tokens must carry it in `aud`
    dev_mode: bool = False  # local development only: allows a missing or short secret

    invoicing_database_url: str | None = None
    rendering_database_url: str | None = None
    notification_database_url: str | None = None
    export_database_url: str | None = None

    http_max_body_bytes: int = Field(default=1024 * 1024, gt=0)  # per request; see http_limits
    http_host: str = "127.0.0.1"  # 0.0.0.0 inside a container (deploy/Dockerfile)
    invoicing_port: int = 8101
    rendering_port: int = 8102
    notification_port: int = 8103
    export_port: int = 8104
    # /metrics: on the service port to loopback clients only, or alone on this internal port when set
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # How often the state gauges (lag, readiness, outbox backlog, dead letters) are refreshed
    metrics_refresh_s: float = Field(default=10.0, gt=0)
    sftp_port: int = 2222
    sftp_host: str = "127.0.0.1"

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    smtp_starttls: bool = False
    smtp_tls: bool = False  # implicit TLS (port 465 style)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout_s: float = 30.0
    smtp_sender: str = "Ledgerline Billing <billing@ledgerline.test>"
    smtp_retry_for_s: float = 900.0  # how long temporary failures are retried

    consumer_retries: int = 3  # in-process attempts before a failing message is dead-lettered
    consumer_backoff_s: float = 0.2
    # Infrastructure failures (database, render pool) are retried, the partition paused, this long
    # from the first failure before the message is dead-lettered; the backoff doubles up to the max.
    consumer_retry_budget_s: float = Field(default=900.0, gt=0)
    consumer_max_backoff_s: float = Field(default=30.0, gt=0)
    outbox_poll_s: float = 0.2
    log_level: str = "INFO"
    # OTLP/HTTP collector (e.g. http://127.0.0.1:4318): spans are exported there. Unset, and without
    # the standard OTEL_EXPORTER_OTLP_ENDPOINT, nothing is exported (observability/tracing.py).
    otlp_endpoint: str | None = None

    # Several instances of a service on one PostgreSQL (docs/operations.md "Several instances"): a
    # billing run or an export job is held by one instance under a lease it renews every heartbeat;
    # another instance takes it over once the lease expired (its holder died).
    instance_id: str = Field(default_factory=default_instance_id)  # host-pid; unique per live instance
    job_lease_s: float = Field(default=60.0, gt=0)
    job_heartbeat_s: float = Field(default=15.0, gt=0)

    @model_validator(mode="after")
    def _lease_fits_heartbeats(self) -> Settings:
        check_lease_settings(self.job_lease_s, self.job_heartbeat_s)
        return self

    def database_url(self, service: str) -> str:
        url: str | None = getattr(self, f"{service}_database_url")
        if url:
            return url
        path = self.data_dir / "db" / f"{service}.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{path}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
