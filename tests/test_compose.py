"""compose.yaml: valid Compose, the same four services and LEDGERLINE_* names as the local stack, no secrets.

The Compose Specification schema comes from deploy/bootstrap.sh (var/schemas/compose_spec.json, extracted
from the hash-pinned docker-compose wheel); without it these tests fail rather than skip: bootstrap always
runs before the tests.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft201909Validator

from ledgerline_shared.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "compose.yaml"
SCHEMA = ROOT / "var" / "schemas" / "compose_spec.json"
LOCAL_NAMES = ROOT / "deploy" / "local-env.names"
POSTGRES_INIT = ROOT / "deploy" / "postgres-init.sql"

SERVICES = {"invoicing": 8101, "rendering": 8102, "notification": 8103, "export": 8104}
INTERPOLATED_SECRET = re.compile(r"^\$\{[A-Z][A-Z0-9_]*:\?[^}]+\}$")


def _compose() -> dict[str, Any]:
    doc = yaml.safe_load(COMPOSE.read_text())  # safe_load resolves the `<<` merge keys, as compose does
    assert isinstance(doc, dict)
    return doc


def _validator() -> Draft201909Validator:
    if not SCHEMA.is_file():
        pytest.fail(f"{SCHEMA} is missing: run deploy/bootstrap.sh first")
    return Draft201909Validator(json.loads(SCHEMA.read_text()))


def _schema_errors(doc: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator().iter_errors(doc)]


def _local_names(service: str) -> set[str]:
    names = set()
    for line in LOCAL_NAMES.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names.add(line.replace("<SERVICE>", service.upper()))
    return names


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment as a mapping, so names can be compared"
    return {str(k): str(v) for k, v in env.items()}


def test_compose_is_valid_against_the_compose_specification() -> None:
    assert _schema_errors(_compose()) == []


def test_the_schema_check_rejects_a_broken_file() -> None:
    # Proves the validation above can fail: a misspelt key and a wrong type are both caught.
    broken = copy.deepcopy(_compose())
    broken["services"]["invoicing"]["helthcheck"] = {"test": ["CMD", "true"]}
    broken["services"]["export"]["ports"] = "8104"
    errors = _schema_errors(broken)
    assert any("helthcheck" in e for e in errors)
    assert any(e.startswith("services/export/ports") for e in errors)


def test_the_four_services_run_from_one_image_each_with_its_module() -> None:
    services = _compose()["services"]
    images = set()
    for name in SERVICES:
        assert name in services, f"service {name} missing"
        svc = services[name]
        assert svc["build"]["dockerfile"] == "deploy/Dockerfile"
        assert svc["command"] == ["python", "-m", f"ledgerline_{name}"]
        images.add(svc["image"])
    assert len(images) == 1
    assert (ROOT / "deploy" / "Dockerfile").is_file()


# Containers only: the local stack keeps /metrics on each service port, answered to loopback clients.
COMPOSE_ONLY = {"LEDGERLINE_METRICS_PORT", "LEDGERLINE_METRICS_HOST"}


def test_every_service_gets_the_variable_names_of_the_local_stack() -> None:
    services = _compose()["services"]
    for name in SERVICES:
        got = {k for k in _env(services[name]) if k.startswith("LEDGERLINE_")}
        assert got - COMPOSE_ONLY == _local_names(name), f"{name}: compose and deploy/local-env.names differ"


def test_every_ledgerline_variable_is_a_real_setting() -> None:
    # A misspelt name would be silently ignored by pydantic-settings: the service would run on defaults.
    fields = set(Settings.model_fields)
    used = {k for svc in _compose()["services"].values() for k in _env(svc) if k.startswith("LEDGERLINE_")}
    used |= {n for s in SERVICES for n in _local_names(s)}
    unknown = {n for n in used if n.removeprefix("LEDGERLINE_").lower() not in fields}
    assert unknown == set()


def test_no_secret_is_written_in_the_file() -> None:
    secrets = 0
    for name, svc in _compose()["services"].items():
        for key, value in _env(svc).items():
            if "SECRET" in key or "PASSWORD" in key:
                assert INTERPOLATED_SECRET.match(value), f"{name}.{key} must come from ${{VAR:?...}}"
                secrets += 1
            if key.endswith("_DATABASE_URL"):
                password = re.match(r"^postgresql\+asyncpg://[^:]+:(.+)@postgres:5432/\w+$", value)
                assert password, f"{name}.{key} is not a postgresql+asyncpg URL to the postgres service"
                assert INTERPOLATED_SECRET.match(password.group(1)), f"{name}.{key} embeds a password"
    assert secrets >= len(SERVICES) + 1  # every JWT secret and the postgres password


def test_each_service_is_published_on_loopback_and_checks_its_readiness() -> None:
    services = _compose()["services"]
    for name, port in SERVICES.items():
        svc = services[name]
        assert f"127.0.0.1:{port}:{port}" in svc["ports"]
        probe = " ".join(svc["healthcheck"]["test"])
        assert f"http://127.0.0.1:{port}/health/ready" in probe
    assert "127.0.0.1:2222:2222" in services["export"]["ports"]
    assert services["export"]["environment"]["LEDGERLINE_SFTP_PORT"] == "2222"


def test_services_start_after_topics_and_databases_exist() -> None:
    services = _compose()["services"]
    for name in SERVICES:
        deps = services[name]["depends_on"]
        assert deps["kafka-init"] == {"condition": "service_completed_successfully"}
        assert deps["postgres"] == {"condition": "service_healthy"}
    init = services["kafka-init"]
    for broker in BROKERS:
        assert init["depends_on"][broker] == {"condition": "service_healthy"}
    assert init["command"][:3] == ["python", "deploy/kafka_admin.py", "create-topics"]
    assert (ROOT / "deploy" / "kafka_admin.py").is_file()


BROKERS = ("kafka-1", "kafka-2", "kafka-3")
CONTROLLERS = ("kafka-controller-1", "kafka-controller-2", "kafka-controller-3")


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_kafka_is_three_brokers_and_a_quorum_of_three_controllers() -> None:
    # The same cluster as deploy/kafka.sh cluster: separate controllers, topics replicated 3 times with
    # min.insync.replicas 2, auto-creation off, each node with a volume of its own.
    services = _compose()["services"]
    nodes = {name: services[name] for name in (*CONTROLLERS, *BROKERS)}
    envs = {name: _env(node) for name, node in nodes.items()}
    voters = {env["KAFKA_CONTROLLER_QUORUM_VOTERS"] for env in envs.values()}
    assert voters == {"101@kafka-controller-1:9093,102@kafka-controller-2:9093,103@kafka-controller-3:9093"}
    assert len({env["KAFKA_CLUSTER_ID"] for env in envs.values()}) == 1
    assert len({env["KAFKA_NODE_ID"] for env in envs.values()}) == 6
    volumes = set()
    for name, node in nodes.items():
        env = envs[name]
        assert node["image"] == "apache/kafka:4.1.1"
        assert node["entrypoint"] == ["bash", "/ledgerline/compose-kafka.sh"]
        assert env["KAFKA_PROCESS_ROLES"] == ("controller" if name in CONTROLLERS else "broker")
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
        assert (env["KAFKA_DEFAULT_REPLICATION_FACTOR"], env["KAFKA_MIN_INSYNC_REPLICAS"]) == ("3", "2")
        data = [v for v in node["volumes"] if v.endswith(":/var/lib/kafka/data")]
        assert len(data) == 1, name
        volumes.add(data[0])
    assert len(volumes) == 6
    for name in CONTROLLERS:
        assert "ports" not in nodes[name], "the controller listener is never published"
    published = {p for name in BROKERS for p in nodes[name]["ports"]}
    assert published == {"127.0.0.1:9092:19092", "127.0.0.1:9093:19092", "127.0.0.1:9094:19092"}
    bootstrap = "kafka-1:9092,kafka-2:9092,kafka-3:9092"
    for name in SERVICES:
        assert _env(services[name])["LEDGERLINE_KAFKA_BOOTSTRAP_SERVERS"] == bootstrap
    init = services["kafka-init"]["command"]
    assert _option(init, "--bootstrap") == bootstrap
    assert (_option(init, "--replication-factor"), _option(init, "--min-insync-replicas")) == ("3", "2")


def test_each_database_url_names_a_database_the_init_script_creates() -> None:
    created = set(re.findall(r"CREATE DATABASE (\w+);", POSTGRES_INIT.read_text()))
    services = _compose()["services"]
    assert any(POSTGRES_INIT.name in v for v in services["postgres"]["volumes"])
    for name in SERVICES:
        url = _env(services[name])[f"LEDGERLINE_{name.upper()}_DATABASE_URL"]
        assert url.rsplit("/", 1)[1] in created
        assert url.rsplit("/", 1)[1] == f"ledgerline_{name}"


def test_documents_volume_is_shared_by_rendering_notification_and_export() -> None:
    services = _compose()["services"]
    for name in ("rendering", "notification", "export"):
        data_dir = _env(services[name])["LEDGERLINE_DATA_DIR"]
        assert f"documents:{data_dir}" in services[name]["volumes"]
