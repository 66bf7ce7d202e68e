"""End to end: Trivy reports through `import_tool` -> broker -> ingest -> PostgreSQL -> aggregator -> /metrics.

A full scan closes what its scope no longer reports, at the scan's time; a partial import closes nothing; a
replay of both scans changes nothing. Expected values are worked out by hand in the comments.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from confluent_kafka import Consumer, TopicPartition
from rich.console import Console

from tests.conftest import eventually, serve_api
from tests.helpers import read_topic, sample
from tests.integration.test_pipeline import scrape_at
from tests.unit.shared.connectors.samples import trivy_image, trivy_vuln
from trustline.aggregator.loop import snapshot_at
from trustline.ingest.importer import import_tool
from trustline.shared.connectors import Options
from trustline.shared.policy import Policy
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)
T1 = NOW - timedelta(days=10)  # first scan
T2 = NOW - timedelta(days=3)  # second scan: CVE-2023-5363 is gone
T3 = NOW - timedelta(days=2)  # a partial import that does not list CVE-2024-0727 either
T = NOW - timedelta(hours=1)  # the snapshot
IMAGE = "registry.example.com/payments/api:1.4.2"
SCOPE = "image:payments/api"


def report(at: datetime, *vulns: tuple[str, str]) -> bytes:
    """A Trivy image report at `at` listing exactly these findings (OS packages only)."""
    doc = trivy_image(IMAGE, [trivy_vuln(cve, sev) for cve, sev in vulns], at.isoformat())
    doc["Results"] = doc["Results"][:1]
    return json.dumps(doc).encode()


SCAN_1 = report(T1, ("CVE-2024-0727", "HIGH"), ("CVE-2023-5363", "CRITICAL"))
SCAN_2 = report(T2, ("CVE-2024-0727", "HIGH"))
PARTIAL = report(T3, ("CVE-2024-21538", "LOW"))


async def stored(db: asyncpg.Connection, n: int) -> None:
    async def done() -> bool:
        return await db.fetchval("SELECT count(*) FROM raw_events") == n

    await eventually(done)


def caught_up(settings: Settings, topic: str) -> bool:
    """Whether the ingest group has committed every record of `topic` (so a replay was fully read).

    The ends come from reading the records themselves: the development broker's watermark offsets can
    lag by one.
    """
    ends: dict[int, int] = {}
    for msg in read_topic(settings.bootstrap_servers(), topic, 10_000, seconds=2):
        ends[msg.partition()] = max(ends.get(msg.partition(), 0), msg.offset() + 1)
    consumer = Consumer(
        {"bootstrap.servers": settings.bootstrap_servers(), "group.id": settings.consumer_group}
    )
    try:
        committed = consumer.committed([TopicPartition(topic, p) for p in ends], timeout=10)
        return all(c.offset == ends[c.partition] for c in committed)
    finally:
        consumer.close()


async def state(db: asyncpg.Connection) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT vulnerability_id, cycle, detected_at, remediated_at, severity, valid_from, valid_to "
        "FROM vuln_cycle_versions ORDER BY 1, 2, 6"
    )


async def test_two_full_scans_measure_time_to_patch(
    settings: Settings, db: asyncpg.Connection, worker: Settings
) -> None:
    quiet, full = Console(quiet=True), Options(source="trivy/ci", scope=SCOPE)
    first = await import_tool(settings, "trivy", SCAN_1, full, quiet)
    assert sum(first.accepted.values()) == 2 and first.closed == 0
    await stored(db, 2)
    second = await import_tool(settings, "trivy", SCAN_2, full, quiet)
    # CVE-2024-0727 detected again at T2 (changes nothing but its severity), CVE-2023-5363 closed at T2.
    assert sum(second.accepted.values()) == 2 and second.closed == 1
    await stored(db, 4)
    closed = await db.fetchrow(
        "SELECT type, time, subject, source FROM raw_events WHERE type = 'vulnerability.remediated'"
    )
    assert dict(closed) == {
        "type": "vulnerability.remediated",
        "time": T2,
        "subject": SCOPE,
        "source": "trivy/ci",
    }

    # A partial import (no scope) that does not list CVE-2024-0727 closes nothing: one new finding only.
    partial = await import_tool(settings, "trivy", PARTIAL, Options(source="trivy/ci"), quiet)
    assert sum(partial.accepted.values()) == 1 and partial.closed == 0
    assert partial.notes == ["partial import (no --full-scan): nothing closed"]
    await stored(db, 5)
    before = await state(db)
    open_at_t = {
        r["vulnerability_id"] for r in before if r["remediated_at"] is None and r["valid_to"] is None
    }
    assert open_at_t == {"CVE-2024-0727", "CVE-2024-21538"}

    # Replaying both scans: the detections get the same ids, so nothing new is stored.
    for scan in (SCAN_1, SCAN_2):
        again = await import_tool(settings, "trivy", scan, full, quiet)
        # As of T2, CVE-2023-5363 is already closed (at T2): the replay of scan 2 finds nothing to close.
        assert again.closed == 0 and again.rejected == {}
    topic = f"{settings.topic_prefix}.vulnerabilities"
    await eventually(lambda: asyncio.to_thread(caught_up, settings, topic))
    assert await db.fetchval("SELECT count(*) FROM raw_events") == 5
    assert await state(db) == before

    async with serve_api(settings) as url:
        await snapshot_at(settings, Policy(), T)
        m = await scrape_at(url, T)
    # CVE-2023-5363 (critical, unassigned: no inventory): detected T1, closed T2 -> 7 d = 604800 s, which
    # is the 7 d SLA exactly (<= counts as met); closed 3 d before T: inside 7d, 30d and 90d.
    for window in ("7d", "30d", "90d"):
        lbl = {"business_unit": "unassigned", "severity": "critical", "window": window}
        assert sample(m, "trustline_time_to_patch_seconds_count", **lbl) == 1
        assert sample(m, "trustline_time_to_patch_seconds_sum", **lbl) == 604800
        assert sample(m, "trustline_time_to_patch_seconds_bucket", **lbl, le="259200.0") == 0
        assert sample(m, "trustline_time_to_patch_seconds_bucket", **lbl, le="604800.0") == 1
        assert sample(m, "trustline_patch_remediations", **lbl, sla="met") == 1
    # Still open at T: CVE-2024-0727 (high, 10 d <= 30 d) and the partial import's low finding.
    open_high = {"business_unit": "unassigned", "severity": "high", "sla_status": "within_sla"}
    assert sample(m, "trustline_vulnerabilities_open", **open_high) == 1
    open_low = {"business_unit": "unassigned", "severity": "low", "sla_status": "within_sla"}
    assert sample(m, "trustline_vulnerabilities_open", **open_low) == 1


async def test_a_document_with_unidentified_records_closes_nothing(
    settings: Settings, db: asyncpg.Connection, worker: Settings
) -> None:
    full = Options(source="trivy", scope=SCOPE)
    await import_tool(settings, "trivy", SCAN_1, full, Console(quiet=True))
    await stored(db, 2)
    broken = report(T2, ("CVE-2024-0727", "HIGH"), ("", "CRITICAL"))  # a finding without an id
    got = await import_tool(settings, "trivy", broken, full, Console(quiet=True))
    assert got.closed == 0 and got.rejected == {"invalid_data": 1}
    assert got.notes == ["some records could not be identified: nothing closed"]
