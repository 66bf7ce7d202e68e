"""One place builds every Kafka client: what each kind always sets, what a caller adds, and nowhere else."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, KafkaError, RecordTooLargeError

from trustline.shared import kafka
from trustline.shared.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
CLIENTS = {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient"}


class Recorded:
    """Stands in for an aiokafka client class: keeps the keyword arguments it was built with."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CLIENTS:
        monkeypatch.setattr(kafka, name, Recorded)


SETTINGS = Settings(kafka_bootstrap="k1:9092,k2:9092")
PLAIN = {"security_protocol": "PLAINTEXT", "ssl_context": None}  # no TLS, no SASL unless configured


@pytest.mark.usefixtures("recorded")
def test_every_producer_waits_for_all_replicas_and_keeps_its_own_options() -> None:
    built = kafka.producer(SETTINGS, linger_ms=5, max_request_size=2048, request_timeout_ms=5000)
    assert built.kwargs == {
        "bootstrap_servers": "k1:9092,k2:9092",
        **PLAIN,
        "acks": "all",
        "linger_ms": 5,
        "max_request_size": 2048,
        "request_timeout_ms": 5000,
    }
    assert kafka.producer(SETTINGS).kwargs == {"bootstrap_servers": "k1:9092,k2:9092", **PLAIN, "acks": "all"}


@pytest.mark.usefixtures("recorded")
def test_every_consumer_leaves_commits_to_its_caller() -> None:
    built = kafka.consumer(SETTINGS, group_id="g", auto_offset_reset="earliest", max_poll_records=10)
    assert built.kwargs == {
        "bootstrap_servers": "k1:9092,k2:9092",
        **PLAIN,
        "enable_auto_commit": False,
        "group_id": "g",
        "auto_offset_reset": "earliest",
        "max_poll_records": 10,
    }


@pytest.mark.usefixtures("recorded")
def test_the_admin_client_reaches_the_same_cluster() -> None:
    built = kafka.admin(SETTINGS, request_timeout_ms=15000)
    assert built.kwargs == {"bootstrap_servers": "k1:9092,k2:9092", **PLAIN, "request_timeout_ms": 15000}


@pytest.mark.usefixtures("recorded")
def test_without_a_configured_cluster_clients_reach_the_development_broker() -> None:
    built = kafka.producer(Settings(kafka_bootstrap=None, dev_kafka_port=19092))
    assert built.kwargs["bootstrap_servers"] == "127.0.0.1:19092"


def test_the_clients_retriable_flag_decides_what_may_pass() -> None:
    assert kafka.retriable(KafkaConnectionError())
    assert not kafka.retriable(RecordTooLargeError())
    assert not kafka.retriable(KafkaError())
    assert not kafka.retriable(OSError())  # not a Kafka fault: the database's rule decides that one


def _constructions(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name in CLIENTS:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} builds {name}")
    return found


def test_no_module_but_shared_kafka_builds_a_kafka_client() -> None:
    builder = ROOT / "shared" / "kafka.py"
    modules = [p for top in ("services", "shared") for p in (ROOT / top).rglob("*.py")]
    assert builder in modules
    assert len(_constructions(builder)) == len(CLIENTS)  # the check sees a construction where there is one
    elsewhere = [c for p in modules if p != builder for c in _constructions(p)]
    assert not elsewhere, elsewhere
