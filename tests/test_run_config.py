"""`make run` honours the operator's LEDGERLINE_* variables; the test stacks never see them (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ledgerline_stack import BACKOFFICE, SERVICES, StackConfig
from run_config import DEFAULT_RUN_DIR, run_config, shown_value

SECRET = "s" * 48


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The caller's environment without any LEDGERLINE_* variable (deploy/test.sh sets a few)."""
    import os

    for name in list(os.environ):
        if name.startswith("LEDGERLINE_"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.fixture
def run_dir(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """make run's folder with the local broker's credentials, as deploy/kafka.sh start leaves them."""
    clean_env.setenv("LEDGERLINE_RUN_DIR", str(tmp_path))
    (tmp_path / "kafka" / "credentials").mkdir(parents=True)
    for service in SERVICES:
        (tmp_path / "kafka" / "credentials" / service).write_text(f"pw-{service}\n")
    return tmp_path


def test_an_operator_variable_reaches_every_process_and_wins(
    clean_env: pytest.MonkeyPatch, run_dir: Path
) -> None:
    import os

    clean_env.setenv("LEDGERLINE_SMTP_HOST", "relay.example.net")
    clean_env.setenv("LEDGERLINE_SMTP_PORT", "587")
    clean_env.setenv("LEDGERLINE_SMTP_USERNAME", "billing")  # not one make run knows: passed through
    clean_env.setenv("LEDGERLINE_SMTP_PASSWORD", "hunter2")
    clean_env.setenv(
        "LEDGERLINE_INVOICING_DATABASE_URL", "postgresql+asyncpg://ll:pw@db.example.net/invoicing"
    )
    clean_env.setenv("LEDGERLINE_RUN_APPROVAL_REQUIRED", "false")  # make run's own default is "true"
    clean_env.setenv("LEDGERLINE_INVOICING_PORT", "9101")
    config = run_config(os.environ, SECRET)

    assert config.mail is None, "a relay is named: no mail catcher"
    notification = config.stack.env("notification")
    assert notification["LEDGERLINE_SMTP_HOST"] == "relay.example.net"
    assert notification["LEDGERLINE_SMTP_PORT"] == "587"
    assert notification["LEDGERLINE_SMTP_USERNAME"] == "billing"
    invoicing = config.stack.env("invoicing")
    assert invoicing["LEDGERLINE_INVOICING_DATABASE_URL"].endswith("@db.example.net/invoicing")
    assert invoicing["LEDGERLINE_RUN_APPROVAL_REQUIRED"] == "false"
    assert invoicing["LEDGERLINE_INVOICING_PORT"] == "9101"
    # The port is the stack's too: make run waits for the service, and the gateway proxies to it, there.
    assert config.stack.url("invoicing") == "http://127.0.0.1:9101"
    assert config.stack.gateway_env()["LEDGERLINE_INVOICING_PORT"] == "9101"
    assert config.stack.env(BACKOFFICE)["LEDGERLINE_BACKOFFICE_INVOICING_URL"] == "http://127.0.0.1:9101"
    # The banner lists what came from the environment, never a secret.
    shown = config.from_environment
    assert shown["LEDGERLINE_SMTP_HOST"] == "relay.example.net"
    assert shown["LEDGERLINE_SMTP_PASSWORD"] == "(set)"
    assert "pw@" not in shown["LEDGERLINE_INVOICING_DATABASE_URL"]


def test_an_unset_variable_gets_make_runs_default(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    assert run_config({}, SECRET).run_dir == DEFAULT_RUN_DIR  # var/run
    assert run_config({}, SECRET).from_environment == {}
    clean_env.setenv("LEDGERLINE_RUN_DIR", str(tmp_path))
    (tmp_path / "kafka" / "credentials").mkdir(parents=True)
    for service in SERVICES:
        (tmp_path / "kafka" / "credentials" / service).write_text(f"pw-{service}\n")
    config = run_config(os.environ, SECRET)
    assert list(config.from_environment) == ["LEDGERLINE_RUN_DIR"]
    assert config.mail is not None and config.mail.smtp_port == 2525 and config.mail.http_port == 8025
    assert config.kafka is not None and config.kafka.port == 9092
    for service in (*SERVICES, BACKOFFICE):
        env = config.stack.env(service)
        assert env["LEDGERLINE_JWT_SECRET"] == SECRET
        assert env["LEDGERLINE_SMTP_HOST"] == "127.0.0.1" and env["LEDGERLINE_SMTP_PORT"] == "2525"
        assert env["LEDGERLINE_DATA_DIR"] == str(tmp_path / "data")
        assert env["LEDGERLINE_RUN_APPROVAL_REQUIRED"] == "true"
        assert not any(name.endswith("_DATABASE_URL") for name in env), "SQLite under the data dir"
    assert config.stack.env("invoicing")["LEDGERLINE_INVOICING_PORT"] == "8101"
    assert config.stack.gateway_port == 8080


def test_an_outside_kafka_replaces_the_local_broker(clean_env: pytest.MonkeyPatch, run_dir: Path) -> None:
    import os

    clean_env.setenv("LEDGERLINE_KAFKA_USERNAME", "someone")
    local = run_config(os.environ, SECRET)
    assert local.kafka is not None and local.kafka.data_dir == run_dir / "kafka"
    # The local broker knows only its own principals: those win over an operator's.
    assert local.stack.env("export")["LEDGERLINE_KAFKA_USERNAME"] == "export"

    clean_env.setenv("LEDGERLINE_KAFKA_BOOTSTRAP_SERVERS", "kafka.example.net:9093")
    outside = run_config(os.environ, SECRET)
    assert outside.kafka is None
    env = outside.stack.env("export")
    assert env["LEDGERLINE_KAFKA_BOOTSTRAP_SERVERS"] == "kafka.example.net:9093"
    assert env["LEDGERLINE_KAFKA_USERNAME"] == "someone"


def test_a_test_stack_ignores_the_callers_ledgerline_variables(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in {
        "LEDGERLINE_SMTP_HOST": "relay.example.net",
        "LEDGERLINE_SMTP_USERNAME": "billing",
        "LEDGERLINE_INVOICING_DATABASE_URL": "postgresql+asyncpg://ll@db.example.net/invoicing",
        "LEDGERLINE_DATA_DIR": "/somewhere/else",
        "LEDGERLINE_GATEWAY_TLS_CERT": "/etc/cert.pem",
    }.items():
        clean_env.setenv(name, value)
    clean_env.setenv("UNRELATED_SETTING", "kept")
    config = StackConfig(kafka="127.0.0.1:19092", data_dir=tmp_path, jwt_secret=SECRET, smtp_port=12525)
    assert config.inherit_environment is False  # the default: tests/conftest.py, bench/ rely on it
    for service in (*SERVICES, BACKOFFICE):
        env = config.env(service)
        assert env["LEDGERLINE_SMTP_HOST"] == "127.0.0.1" and env["LEDGERLINE_DATA_DIR"] == str(tmp_path)
        assert "LEDGERLINE_SMTP_USERNAME" not in env and "LEDGERLINE_INVOICING_DATABASE_URL" not in env
        assert env["UNRELATED_SETTING"] == "kept"
    assert "LEDGERLINE_GATEWAY_TLS_CERT" not in config.gateway_env()


def test_secrets_never_reach_the_banner() -> None:
    assert shown_value("LEDGERLINE_JWT_SECRET", "abc") == "(set)"
    assert shown_value("LEDGERLINE_KAFKA_PASSWORD", "abc") == "(set)"
    assert (
        shown_value("LEDGERLINE_EXPORT_DATABASE_URL", "postgresql://u:p4ss@h/d") == "postgresql://u:***@h/d"
    )
    assert shown_value("LEDGERLINE_SMTP_HOST", "relay") == "relay"


def test_make_run_cluster_points_every_service_at_the_three_local_brokers(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import os

    clean_env.setenv("LEDGERLINE_RUN_DIR", str(tmp_path))
    credentials = tmp_path / "kafka-cluster" / "credentials"  # deploy/kafka.sh cluster start's
    credentials.mkdir(parents=True)
    for service in SERVICES:
        (credentials / service).write_text(f"cluster-pw-{service}\n")
    single = run_config(os.environ, SECRET)
    config = run_config(os.environ, SECRET, kafka_cluster=3)

    assert single.kafka is not None and single.kafka.cluster == 0  # make run: one broker, as before
    assert single.kafka.bootstrap == "127.0.0.1:9092" and single.kafka.controller_port == 9093
    assert config.kafka is not None
    assert config.kafka.bootstrap == "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094"
    assert config.kafka.controller_port == 9095  # controllers 9095-9097, right after the brokers
    assert config.kafka.data_dir == tmp_path / "kafka-cluster"
    env = config.stack.env("rendering")
    assert env["LEDGERLINE_KAFKA_BOOTSTRAP_SERVERS"] == config.kafka.bootstrap
    assert env["LEDGERLINE_KAFKA_PASSWORD"] == "cluster-pw-rendering"
