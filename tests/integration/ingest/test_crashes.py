"""Failures in the middle of a stream: a worker killed with SIGKILL, PostgreSQL stopped and restarted.
Nothing is lost, nothing is counted twice, and state still equals the fold of the stored events."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.conftest import eventually
from tests.helpers import clean_env, cloudevent, produce
from trustline.cli.local.postgres import EmbeddedPostgres
from trustline.ingest.domains import CYCLES
from trustline.ingest.resume import refold
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)
N = 12_000


def stream(prefix: str, n: int) -> list[tuple[str, Any]]:
    """n vulnerability events over 300 (asset, CVE) pairs, detections and remediations interleaved."""
    out = []
    for i in range(n):
        kind = "vulnerability.remediated" if i % 4 == 3 else "vulnerability.detected"
        data = {"asset_id": f"h{i % 60}", "vulnerability_id": f"CVE-{i % 5}", "severity": "high"}
        out.append(
            (f"{prefix}.vulnerabilities", cloudevent(kind, NOW - timedelta(minutes=n - i), data, id_=f"e{i}"))
        )
    return out


def worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = clean_env(
        TRUSTLINE_DATABASE_URL=settings.asyncpg_dsn(),
        TRUSTLINE_KAFKA_BOOTSTRAP=settings.bootstrap_servers(),
        TRUSTLINE_TOPIC_PREFIX=settings.topic_prefix,
        TRUSTLINE_CONSUMER_GROUP=settings.consumer_group,
        TRUSTLINE_INGEST_BATCH_MAX="500",
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "trustline.cli", "ingest"], env=env, stdout=out, stderr=subprocess.STDOUT
        )


async def state_is_the_fold(db: asyncpg.Connection) -> None:
    """Refolding every key from the stored events reproduces the state the worker left."""
    columns = ", ".join(CYCLES.columns)
    before = await db.fetch(f"SELECT {columns} FROM vuln_cycle_versions ORDER BY {columns}")
    keys = [
        r["key"] for r in await db.fetch("SELECT DISTINCT key FROM raw_events WHERE domain = 'vulnerability'")
    ]
    async with db.transaction():
        await refold(db, "vulnerability", keys)
        after = await db.fetch(f"SELECT {columns} FROM vuln_cycle_versions ORDER BY {columns}")
    assert before == after and len(before) > 0


async def test_sigkill_mid_stream_loses_and_duplicates_nothing(
    settings: Settings, db: asyncpg.Connection, tmp_path: Path
) -> None:
    producer = threading.Thread(
        target=produce, args=(settings.bootstrap_servers(), stream(settings.topic_prefix, N))
    )
    producer.start()
    first = worker(settings, tmp_path / "worker.log")

    async def some() -> bool:
        return int(await db.fetchval("SELECT count(*) FROM raw_events")) > N // 10

    try:
        await eventually(some, seconds=60)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    killed_at = await db.fetchval("SELECT count(*) FROM raw_events")
    await asyncio.to_thread(producer.join, 120)
    second = worker(settings, tmp_path / "worker.log")

    async def everything() -> bool:
        return await db.fetchval("SELECT count(*) FROM raw_events") == N

    try:
        await eventually(everything, seconds=120)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, (tmp_path / "worker.log").read_text()[-2000:]
    assert killed_at < N  # the kill really happened mid-stream
    assert await db.fetchval("SELECT count(DISTINCT (source, id)) FROM raw_events") == N
    await state_is_the_fold(db)


async def test_postgres_down_mid_stream_the_worker_waits_and_resumes(
    settings: Settings, db: asyncpg.Connection, tmp_path: Path
) -> None:
    proc = worker(settings, tmp_path / "worker.log")
    postgres = EmbeddedPostgres(settings)
    try:
        produce(settings.bootstrap_servers(), stream(settings.topic_prefix, 2000)[:1000])

        async def first_half() -> bool:
            return await db.fetchval("SELECT count(*) FROM raw_events") == 1000

        await eventually(first_half, seconds=60)
        await db.close()
        await asyncio.to_thread(postgres.down)
        produce(settings.bootstrap_servers(), stream(settings.topic_prefix, 2000)[1000:])
        await asyncio.sleep(3)  # the worker now fails to store and backs off; it must not skip or crash
        assert proc.poll() is None, (tmp_path / "worker.log").read_text()[-2000:]
        await asyncio.to_thread(postgres.up)
        conn = await asyncpg.connect(settings.asyncpg_dsn())
        try:

            async def all_of_it() -> bool:
                return await conn.fetchval("SELECT count(*) FROM raw_events") == 2000

            await eventually(all_of_it, seconds=90)
            await state_is_the_fold(conn)
        finally:
            await conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert "retrying" in (tmp_path / "worker.log").read_text()
