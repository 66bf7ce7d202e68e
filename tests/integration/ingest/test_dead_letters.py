"""Bad input end to end: every reason reaches <topic>.dlq with the original record; replays change nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from confluent_kafka import Consumer, Producer

from tests.conftest import eventually
from tests.helpers import cloudevent
from trustline.ingest.worker import run_worker
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def small_records(settings: Settings) -> AsyncIterator[Settings]:
    """The test's settings with a 4 KiB record limit, and a worker running on them."""
    mine = settings.model_copy(update={"max_event_bytes": 4096})
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(mine, stop))
    yield mine
    stop.set()
    await asyncio.wait_for(task, 30)


def vuln(id_: str, **over: Any) -> dict[str, Any]:
    event = cloudevent("vulnerability.detected", NOW - timedelta(days=1),
                       {"asset_id": "h1", "vulnerability_id": id_, "severity": "high"}, id_=id_)  # fmt: skip
    return {**event, **over}


CASES: list[tuple[str, str, bytes]] = [
    ("vulnerabilities", "invalid_json", b'{"specversion": "1.0", '),
    ("vulnerabilities", "invalid_envelope", json.dumps({"hello": "world"}).encode()),
    ("vulnerabilities", "unknown_type", json.dumps(vuln("u", type="vulnerability.exploded")).encode()),
    ("assets", "type_not_allowed_on_topic", json.dumps(vuln("t")).encode()),
    ("vulnerabilities", "invalid_data", json.dumps(vuln("d", data={"asset_id": "h1"})).encode()),
    ("vulnerabilities", "time_out_of_range", json.dumps(vuln("r", time="1999-01-01T00:00:00Z")).encode()),
    ("vulnerabilities", "too_large", json.dumps(vuln("l", padding="x" * 5000)).encode()),
]


def _consume(bootstrap: str, topics: list[str], expected: int) -> list[Any]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"check-{topics[0]}", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe(topics)
    got: list[Any] = []
    try:
        for _ in range(120):
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                got.append(msg)
            if len(got) >= expected:
                break
    finally:
        consumer.close()
    return got


async def test_every_reason_is_dead_lettered_with_the_original_record(
    small_records: Settings, db: asyncpg.Connection
) -> None:
    prefix, bootstrap = small_records.topic_prefix, small_records.bootstrap_servers()
    producer = Producer({"bootstrap.servers": bootstrap})
    sent: dict[str, tuple[str, bytes]] = {}
    for suffix, reason, value in CASES:
        key = f"key-{reason}".encode()
        producer.produce(f"{prefix}.{suffix}", value, key=key, headers=[("x-tool", b"scanner-7")])
        sent[reason] = (f"{prefix}.{suffix}", value)
    producer.produce(f"{prefix}.vulnerabilities", json.dumps(vuln("ok")).encode())
    assert producer.flush(30) == 0

    async def stored() -> bool:
        return await db.fetchval("SELECT count(*) FROM raw_events") == 1

    await eventually(stored)
    dlq = await asyncio.to_thread(
        _consume, bootstrap, [f"{prefix}.vulnerabilities.dlq", f"{prefix}.assets.dlq"], len(CASES)
    )
    by_reason = {dict(m.headers())["trustline-dlq-reason"].decode(): m for m in dlq}
    assert sorted(by_reason) == sorted(reason for _, reason, _ in CASES)
    for reason, msg in by_reason.items():
        headers = dict(msg.headers())
        topic, value = sent[reason]
        assert msg.value() == value and msg.key() == f"key-{reason}".encode()
        assert headers["x-tool"] == b"scanner-7"  # the record's own headers travel with it
        assert headers["trustline-dlq-topic"].decode() == topic and msg.topic() == f"{topic}.dlq"
        assert int(headers["trustline-dlq-partition"]) >= 0 and int(headers["trustline-dlq-offset"]) >= 0
        assert headers["trustline-dlq-detail"]
    assert await db.fetchval("SELECT id FROM raw_events") == "ok"
