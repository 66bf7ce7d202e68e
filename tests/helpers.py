"""Test helpers: CloudEvents builders, an independent producer, /metrics parsing, a stop on a warning."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, Producer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the developer's TRUSTLINE_* settings, plus `extra`."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("TRUSTLINE_")}, **extra}


def cloudevent(
    type_: str, time: datetime, data: dict[str, Any], *, id_: str, source: str = "test/scanner"
) -> dict[str, Any]:
    """A structured-mode CloudEvent."""
    return {
        "specversion": "1.0",
        "id": id_,
        "source": source,
        "type": type_,
        "time": time.isoformat(),
        "data": data,
    }


def produce(bootstrap: str, records: Iterable[tuple[str, bytes | dict[str, Any]]]) -> None:
    """Produce with librdkafka (confluent-kafka), not the project's own client; waits for every ack."""
    errors: list[str] = []

    def on_delivery(err: object, _msg: object) -> None:
        if err is not None:
            errors.append(str(err))

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for topic, value in records:
        payload = value if isinstance(value, bytes) else json.dumps(value).encode()
        producer.produce(topic, payload, on_delivery=on_delivery)
    assert producer.flush(30) == 0, "messages still in flight after 30 s"
    assert not errors, errors


def read_topic(bootstrap: str, topic: str, expected: int, *, seconds: float = 60.0) -> list[Message]:
    """Records of every partition of `topic` from the start, with librdkafka (no consumer-group join)."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False,
         "fetch.max.bytes": 64 * 1024 * 1024}
    )  # fmt: skip
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        got: list[Message] = []
        deadline = time.monotonic() + seconds
        while len(got) < expected and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                got.append(msg)
        return got
    finally:
        consumer.close()


def parse_metrics(text: str) -> Series:
    """Every sample of an exposition, keyed by (sample name, labels)."""
    out: Series = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def sample(series: Series, name: str, **labels: str) -> float | None:
    """One sample's value, or None when the series is absent."""
    return series.get((name, frozenset(labels.items())))


def names_with(series: Series, name: str, **labels: str) -> list[dict[str, str]]:
    """Label sets of every series of `name` that carries the given labels."""
    want = set(labels.items())
    return [dict(lbl) for (n, lbl) in series if n == name and want <= set(lbl)]


def prometheus_tool(name: str) -> str:
    """Path of Debian's `promtool` or `prometheus`: fails in CI when missing, else skips saying why."""
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing in CI: `make test` installs Debian's prometheus package as root")
        pytest.skip(
            f"{name} not installed: Debian's `prometheus` package needs root (`make test` as root installs it)"
        )
    return found


def require_pango() -> None:
    """WeasyPrint needs Debian's Pango: fails in CI when it is missing, else skips saying why."""
    try:
        import weasyprint  # noqa: F401
    except OSError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Pango is missing in CI ({exc}): `make test` installs it as root")
        pytest.skip(
            f"the PDF needs Debian's Pango, and installing it needs root (`make test` as root does): {exc}"
        )


class _StopOnWarning(logging.Handler):
    def __init__(self, stop: asyncio.Event, messages: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.stop, self.messages = stop, messages

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        self.stop.set()


@contextmanager
def stop_at_first_warning(logger: str) -> Iterator[tuple[asyncio.Event, list[str]]]:
    """A stop event that the first warning of `logger` sets, and the warnings' messages."""
    stop, messages = asyncio.Event(), list[str]()
    handler = _StopOnWarning(stop, messages)
    logging.getLogger(logger).addHandler(handler)
    try:
        yield stop, messages
    finally:
        logging.getLogger(logger).removeHandler(handler)
