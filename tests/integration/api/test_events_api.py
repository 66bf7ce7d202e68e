"""POST /api/v1/events: validated like the Kafka path, 202 only after the broker acked, all or nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from tests.conftest import free_port, serve_api
from tests.helpers import cloudevent
from tests.integration.ingest.test_replay_and_import import consume_until
from tests.unit.shared.test_ocsf import prowler_finding
from trustline.shared.auth import keys as keys
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)


def vuln(i: int, **data: Any) -> dict[str, Any]:
    body = {"asset_id": f"h{i}", "vulnerability_id": "CVE-2026-1", "severity": "high", **data}
    return cloudevent("vulnerability.detected", NOW - timedelta(hours=i), body, id_=f"v{i}")


async def headers(db: asyncpg.Connection, *scopes: str) -> dict[str, str]:
    key = await keys.create_key(
        db, principal="scanner-bot", scopes=list(scopes), now=NOW, sources=["test/*", "prowler/*"]
    )
    return {"Authorization": f"Bearer {key}"}


def published(settings: Settings, suffix: str) -> int:
    """Records on one topic, read with librdkafka (not the project's client)."""
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers(), "group.id": "peek"})
    try:
        meta = consumer.list_topics(f"{settings.topic_prefix}.{suffix}", timeout=10)
        total = 0
        for p in meta.topics[f"{settings.topic_prefix}.{suffix}"].partitions:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(f"{settings.topic_prefix}.{suffix}", p), timeout=10
            )
            total += high - low
        return total
    finally:
        consumer.close()


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[str]:
    async with serve_api(settings.model_copy(update={"api_max_batch_events": 5})) as url:
        yield url


async def test_accepted_events_reach_the_database_through_the_broker(
    api: str, settings: Settings, db: asyncpg.Connection
) -> None:
    writer = await headers(db, "events:write")
    ocsf = json.loads(prowler_finding(when=NOW - timedelta(hours=1)).model_dump_json(exclude_none=True))
    async with httpx.AsyncClient(base_url=api, headers=writer) as http:
        batch = await http.post("/api/v1/events", json=[vuln(1), vuln(2), ocsf])
        assert batch.status_code == 202, batch.text
        body = batch.json()
        assert body["accepted"] == 3
        # The Prowler finding names two buckets: one record, two cloud.evaluated events.
        assert [(i["topic"].split(".")[-1], i["events"]) for i in body["items"]] == [
            ("vulnerabilities", 1), ("vulnerabilities", 1), ("cloudconfig", 2)]  # fmt: skip
        single = await http.post(
            "/api/v1/events",
            content=json.dumps(vuln(3)),
            headers={"content-type": "application/cloudevents+json"},
        )
        assert single.status_code == 202 and single.json()["accepted"] == 1
        # Binary mode: attributes in ce-* headers, the body is the data.
        binary = await http.post(
            "/api/v1/events",
            content=json.dumps({"asset_id": "h4", "vulnerability_id": "CVE-2026-1", "severity": "low"}),
            headers={"content-type": "application/json", "ce-specversion": "1.0", "ce-id": "v4",
                     "ce-source": "test/scanner", "ce-type": "vulnerability.detected",
                     "ce-time": NOW.isoformat()},
        )  # fmt: skip
        assert binary.status_code == 202, binary.text
        # A re-sent event is accepted again and stored once: (source, id) is the idempotency key.
        assert (await http.post("/api/v1/events", json=vuln(1))).status_code == 202
    # v1, v2, v3, v4 and two cloud checks: six distinct events stored by a real ingest worker.
    await consume_until(settings, db, raw=6)
    rows = await db.fetch("SELECT source, id FROM raw_events WHERE source = 'test/scanner' ORDER BY id")
    assert [r["id"] for r in rows] == ["v1", "v2", "v3", "v4"]
    assert await db.fetchval("SELECT count(*) FROM cloud_check_versions") == 2
    # Every raw event names the key that submitted it (the OCSF record's two events included).
    assert await db.fetchval("SELECT array_agg(DISTINCT submitted_by) FROM raw_events") == [
        "http:scanner-bot"
    ]


async def test_a_key_writes_only_the_sources_it_holds(
    api: str, settings: Settings, db: asyncpg.Connection
) -> None:
    writer = await headers(db, "events:write")  # test/* and prowler/*
    squatted = vuln(1) | {"source": "qualys/prod", "id": "QID-1"}
    async with httpx.AsyncClient(base_url=api, headers=writer) as http:
        denied = await http.post("/api/v1/events", json=[vuln(2), squatted])
        assert denied.status_code == 403, denied.text
        assert denied.headers["content-type"] == "application/problem+json"
        assert [(e["index"], e["source"]) for e in denied.json()["errors"]] == [(1, "qualys/prod")]
    assert published(settings, "vulnerabilities") == 0  # all or nothing: v2 was not published either


async def test_attribution_comes_from_the_api_not_from_a_header_a_producer_writes(
    api: str, settings: Settings, db: asyncpg.Connection
) -> None:
    topic = f"{settings.topic_prefix}.vulnerabilities"
    forged = [("trustline-submitted-by", b"scanner-bot"), ("trustline-submitted-sig", b"0" * 64)]
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers()})
    producer.produce(topic, json.dumps(vuln(1)).encode(), headers=forged)
    producer.produce(topic, json.dumps(vuln(2)).encode())
    assert producer.flush(30) == 0
    async with httpx.AsyncClient(base_url=api, headers=await headers(db, "events:write")) as http:
        assert (await http.post("/api/v1/events", json=vuln(3))).status_code == 202
    await consume_until(settings, db, raw=3)
    rows = await db.fetch("SELECT id, submitted_by FROM raw_events ORDER BY id")
    assert [(r["id"], r["submitted_by"]) for r in rows] == [
        ("v1", f"kafka:{topic}"), ("v2", f"kafka:{topic}"), ("v3", "http:scanner-bot")]  # fmt: skip


async def test_refused_batches_publish_nothing(api: str, settings: Settings, db: asyncpg.Connection) -> None:
    writer = await headers(db, "events:write")
    async with httpx.AsyncClient(base_url=api, headers=writer) as http:
        mixed = await http.post(
            "/api/v1/events",
            json=[vuln(1), vuln(2, severity="catastrophic"), {"specversion": "1.0"},
                  {**vuln(3), "type": "vulnerability.exploited"}],
        )  # fmt: skip
        assert mixed.status_code == 400 and mixed.headers["content-type"] == "application/problem+json"
        assert [(e["index"], e["reason"]) for e in mixed.json()["errors"]] == [
            (1, "invalid_data"), (2, "invalid_envelope"), (3, "unknown_type")]  # fmt: skip
        late = await http.post("/api/v1/events", json=vuln(1) | {"time": "1999-12-31T00:00:00Z"})
        assert late.json()["errors"][0]["reason"] == "time_out_of_range"
        broken = await http.post(
            "/api/v1/events", content=b"{nope", headers={"content-type": "application/json"}
        )
        assert broken.status_code == 400 and broken.json()["errors"][0]["reason"] == "invalid_json"
        six = await http.post("/api/v1/events", json=[vuln(i) for i in range(6)])
        assert six.status_code == 413 and "at most 5" in six.json()["errors"][0]["detail"]
        huge = await http.post("/api/v1/events", json=[vuln(1, note="x" * (1024 * 1024))])
        assert huge.status_code == 413 and huge.json()["errors"][0]["reason"] == "too_large"
        empty = await http.post("/api/v1/events", json=[])
        assert empty.status_code == 400 and empty.json()["detail"].startswith("the batch is empty")
        # Bodies that once answered 500: deep nesting and invalid UTF-8.
        for body in (b"[" * 5000 + b"]" * 5000, json.dumps(vuln(1)).encode().replace(b'"h1"', b'"h\xff1"')):
            bad = await http.post(
                "/api/v1/events", content=body, headers={"content-type": "application/json"}
            )
            assert bad.status_code == 400, bad.text
            assert bad.json()["errors"][0]["reason"] == "invalid_json"
        text = await http.post("/api/v1/events", content=b"hello", headers={"content-type": "text/plain"})
        assert text.status_code == 415
    assert published(settings, "vulnerabilities") == 0


async def test_writes_need_the_events_scope(api: str, db: asyncpg.Connection) -> None:
    reader = await headers(db, "read")
    async with httpx.AsyncClient(base_url=api) as http:
        assert (await http.post("/api/v1/events", json=vuln(1))).status_code == 401
        denied = await http.post("/api/v1/events", json=vuln(1), headers=reader)
        assert denied.status_code == 403 and "events:write" in denied.json()["detail"]


async def test_an_unreachable_broker_answers_503_with_retry_after(
    settings: Settings, db: asyncpg.Connection
) -> None:
    writer = await headers(db, "events:write")
    port = free_port()
    nowhere = settings.model_copy(update={"kafka_bootstrap": f"127.0.0.1:{port}"})
    async with serve_api(nowhere) as url, httpx.AsyncClient(base_url=url, headers=writer, timeout=60) as http:
        down = await http.post("/api/v1/events", json=vuln(1))
        assert down.status_code == 503 and int(down.headers["retry-after"]) > 0
        assert "nothing was accepted" in down.json()["detail"]
        assert str(port) not in down.text  # the broker's address stays in the log
