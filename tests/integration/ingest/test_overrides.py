"""An operator skips or quarantines one record by its offset; the workers obey, and the decision is kept."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from confluent_kafka import Producer

from tests.conftest import eventually
from tests.helpers import clean_env, cloudevent, read_topic
from trustline.ingest.worker import run_worker
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)


def trustline(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(
        TRUSTLINE_DEV_POSTGRES_PORT=str(settings.dev_postgres_port),
        TRUSTLINE_DEV_KAFKA_PORT=str(settings.dev_kafka_port),
        TRUSTLINE_TOPIC_PREFIX=settings.topic_prefix,
    )
    cmd = [sys.executable, "-m", "trustline.cli", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=False)


def event(id_: str) -> bytes:
    data = {"asset_id": "h1", "vulnerability_id": id_, "severity": "high"}
    return json.dumps(cloudevent("vulnerability.detected", NOW - timedelta(days=1), data, id_=id_)).encode()


async def test_skip_and_quarantine_one_offset_each(settings: Settings, db: asyncpg.Connection) -> None:
    topic = f"{settings.topic_prefix}.vulnerabilities"
    # Offsets 0..3 of partition 0: keep, skip, quarantine, keep.
    done = trustline(settings, "offsets", "skip", topic, "0", "1", "--reason", "crashes the store (INC-1)")
    assert done.returncode == 0, done.stderr
    assert f"AUDIT ingest override: skip {topic}[0]@1 by " in done.stderr and "INC-1" in done.stderr
    done = trustline(settings, "offsets", "quarantine", topic, "0", "2", "--reason", "look at it later")
    assert done.returncode == 0, done.stderr
    again = trustline(settings, "offsets", "skip", topic, "0", "2", "--reason", "twice")
    assert again.returncode == 1 and "already has an override" in again.stdout + again.stderr
    wrong = trustline(settings, "offsets", "skip", "someone.elses.topic", "0", "2", "--reason", "no")
    assert wrong.returncode == 2 and "not an event topic" in wrong.stderr

    producer = Producer({"bootstrap.servers": settings.bootstrap_servers()})
    for id_ in ("kept-0", "skipped-1", "quarantined-2", "kept-3"):
        producer.produce(topic, event(id_), partition=0)
    assert producer.flush(30) == 0
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(settings, stop))
    try:

        async def stored() -> bool:
            return await db.fetchval("SELECT count(*) FROM raw_events") == 2

        await eventually(stored)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert sorted(await db.fetchval("SELECT array_agg(id) FROM raw_events")) == ["kept-0", "kept-3"]
    [dead] = await asyncio.to_thread(read_topic, settings.bootstrap_servers(), f"{topic}.dlq", 1)
    headers = dict(dead.headers())
    assert dead.value() == event("quarantined-2")
    assert headers["trustline-dlq-reason"] == b"invalid_data" and headers["trustline-dlq-offset"] == b"2"
    assert b"look at it later" in headers["trustline-dlq-detail"]

    listed = trustline(settings, "offsets", "list")
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert len(lines) == 2 and any("quarantine" in x and f"{topic}[0]@2" in x for x in lines)
