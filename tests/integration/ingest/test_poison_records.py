"""Poison records through the real broker: each is dead-lettered with a reason, the worker lives on, and
the records around it are stored (issue 10: each of these once stopped all ingestion)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from confluent_kafka import Producer

from tests.conftest import eventually
from tests.helpers import cloudevent, read_topic
from trustline.ingest.worker import run_worker
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)
BIG = 3 * 1024 * 1024  # over the ~2.1 MB the dead-letter producer once accepted


def vuln(id_: str) -> dict[str, Any]:
    data = {"asset_id": "h1", "vulnerability_id": id_, "severity": "high"}
    return cloudevent("vulnerability.detected", NOW - timedelta(days=1), data, id_=id_)


def ocsf_nested(depth: int) -> bytes:
    """A Prowler-like OCSF detection finding whose resources hold `depth` nested arrays."""
    head = json.dumps({"class_uid": 2004, "time": 1795856400000, "severity_id": 4, "status_code": "FAIL"})
    return head[:-1].encode() + b', "resources": ' + b"[" * depth + b"]" * depth + b"}"


POISON: dict[str, bytes] = {
    # (a) invalid UTF-8 inside a JSON string
    "utf8": json.dumps(vuln("bad-utf8")).encode().replace(b'"h1"', b'"h\xff\xfe1"'),
    # (b) 50,000 levels of nesting
    "nesting": b"[" * 50_000 + b"]" * 50_000,
    # (c) an OCSF record with 5,000 nested arrays
    "ocsf": ocsf_nested(5_000),
    # (d) a value larger than anything the dead-letter producer would write whole
    "huge": json.dumps({**vuln("huge"), "padding": "x" * BIG}).encode(),
}


@pytest.fixture
async def worker(settings: Settings) -> AsyncIterator[tuple[Settings, asyncio.Task[None]]]:
    """A real ingest worker on the test's topics; the test sees its task to check it never died."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(settings, stop))
    yield settings, task
    stop.set()
    await asyncio.wait_for(task, 30)


REASONS = {"utf8": "invalid_json", "nesting": "invalid_json", "ocsf": "invalid_json", "huge": "too_large"}


@pytest.mark.parametrize("case", sorted(POISON))
async def test_a_poison_record_is_dead_lettered_and_ingestion_goes_on(
    case: str, worker: tuple[Settings, asyncio.Task[None]], db: asyncpg.Connection
) -> None:
    settings, task = worker
    topic = f"{settings.topic_prefix}.vulnerabilities"
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers(), "message.max.bytes": 8 * BIG})
    producer.produce(topic, json.dumps(vuln("before")).encode(), key=b"h1")
    producer.produce(topic, POISON[case], key=case.encode(), headers=[("x-case", case.encode())])
    producer.produce(topic, json.dumps(vuln("after")).encode(), key=b"h1")
    assert producer.flush(60) == 0

    async def both_stored() -> bool:
        assert not task.done(), f"the worker died: {task.exception() if task.done() else ''}"
        return await db.fetchval("SELECT count(*) FROM raw_events") == 2

    await eventually(both_stored, seconds=60)
    assert sorted(await db.fetchval("SELECT array_agg(id) FROM raw_events")) == ["after", "before"]

    [dead] = await asyncio.to_thread(read_topic, settings.bootstrap_servers(), f"{topic}.dlq", 1)
    headers = dict(dead.headers())
    assert headers["x-case"] == case.encode() and dead.key() == case.encode()
    assert headers["trustline-dlq-reason"].decode() == REASONS[case]
    if case == "huge":  # dead-lettered truncated, with what identifies the original
        assert headers["trustline-dlq-truncated"] == b"true"
        assert int(headers["trustline-dlq-original-size"]) == len(POISON[case])
        assert headers["trustline-dlq-original-sha256"].decode() == hashlib.sha256(POISON[case]).hexdigest()
        assert POISON[case].startswith(dead.value()) and 0 < len(dead.value()) < len(POISON[case])
    else:  # small enough to travel whole
        assert dead.value() == POISON[case]
    assert not task.done()
