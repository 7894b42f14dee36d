"""A cluster's comma-separated LEDGERLINE_KAFKA_BOOTSTRAP_SERVERS reaches FastStream as a list (issue 13).

FastStream's KafkaBroker takes a str as one server: given "a:1,b:2" it tried to resolve the host
"a:1,b", and make run-cluster's services never became ready. aiokafka splits a str itself.
"""

from __future__ import annotations

from pathlib import Path

from faststream.kafka import KafkaBroker
from sqlalchemy import MetaData

from ledgerline_shared.messaging.kafka_security import bootstrap_servers
from ledgerline_shared.messaging.tables import define_messaging_tables
from ledgerline_shared.runtime import ServiceRuntime
from ledgerline_shared.settings import Settings

CLUSTER = "127.0.0.1:9092, 127.0.0.1:9093,127.0.0.1:9094"
SERVERS = ["127.0.0.1:9092", "127.0.0.1:9093", "127.0.0.1:9094"]


def _settings(servers: str, tmp_path: Path) -> Settings:
    return Settings(jwt_secret="x" * 48, kafka_bootstrap_servers=servers, data_dir=tmp_path)


def test_a_cluster_list_is_split_into_its_servers(tmp_path: Path) -> None:
    assert bootstrap_servers(_settings(CLUSTER, tmp_path)) == SERVERS
    assert bootstrap_servers(_settings("kafka:9092", tmp_path)) == ["kafka:9092"]


def test_the_runtime_gives_faststream_every_server_of_the_list(tmp_path: Path) -> None:
    # The trap: a str is one server to FastStream.
    assert KafkaBroker(CLUSTER)._connection_kwargs["bootstrap_servers"] == [CLUSTER]
    runtime = ServiceRuntime("export", define_messaging_tables(MetaData()), _settings(CLUSTER, tmp_path))
    assert runtime.broker._connection_kwargs["bootstrap_servers"] == SERVERS
