"""End to end: an independent Kafka client -> broker -> ingest -> PostgreSQL -> aggregator -> /metrics over HTTP.

Every expected value below is worked out by hand from the scenario; the comments show the arithmetic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from confluent_kafka import Consumer

from tests.conftest import eventually, serve_api
from tests.helpers import Series, cloudevent, names_with, parse_metrics, produce, sample
from trustline.aggregator.loop import snapshot_at
from trustline.shared.metrics.store import samples_at
from trustline.shared.policy import Policy
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
DAY = timedelta(days=1)
# T: a past instant, so that one event can lie after T and still be accepted now.
T = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def scenario(prefix: str) -> list[tuple[str, Any]]:
    """The records, in the order they reach the broker (deliberately not time order)."""
    assets, vulns = f"{prefix}.assets", f"{prefix}.vulnerabilities"

    def asset(i: str, type_: str, at: datetime, **data: Any) -> tuple[str, Any]:
        return assets, cloudevent(type_, at, data, id_=i, source="test/cmdb")

    def vuln(i: str, type_: str, at: datetime, **data: Any) -> tuple[str, Any]:
        return vulns, cloudevent(type_, at, data, id_=i)

    detected, remediated = "vulnerability.detected", "vulnerability.remediated"
    return [
        # Late and out of order: CVE-2's remediation arrives before its detections.
        vuln("v5", remediated, T - 2 * DAY, asset_id="a1", vulnerability_id="CVE-2"),
        vuln("v1", detected, T - 13 * DAY, asset_id="a1", vulnerability_id="CVE-1", severity="critical"),
        vuln(
            "v1", detected, T - 13 * DAY, asset_id="a1", vulnerability_id="CVE-1", severity="critical"
        ),  # dup
        vuln("v2", remediated, T - 8 * DAY, asset_id="a1", vulnerability_id="CVE-1"),
        vuln("v3", detected, T - 40 * DAY, asset_id="a1", vulnerability_id="CVE-2", severity="high"),
        vuln(
            "v4", detected, T - 20 * DAY, asset_id="a1", vulnerability_id="CVE-2", severity="high"
        ),  # re-detect
        vuln("v6", detected, T - 100 * DAY, asset_id="a2", vulnerability_id="CVE-3", severity="medium"),
        vuln("v7", remediated, T + timedelta(minutes=30), asset_id="a2", vulnerability_id="CVE-3"),  # after T
        vuln("v8", detected, T - 45 * DAY, asset_id="a2", vulnerability_id="CVE-4", severity="low"),
        vuln("v9", detected, T - 3 * DAY, asset_id="a2", vulnerability_id="CVE-5", severity="critical"),
        vuln("v10", detected, T - 1 * DAY, asset_id="a2", vulnerability_id="CVE-5", severity="high"),
        vuln("v11", detected, T - 50 * DAY, asset_id="a3", vulnerability_id="CVE-6", severity="high"),
        vuln("v12", detected, T - 10 * DAY, asset_id="ghost", vulnerability_id="CVE-7", severity="low"),
        vuln("v13", detected, T - 5 * DAY, asset_id="a1", vulnerability_id="INFO-1", severity="info"),
        vuln("v14", remediated, T - 3 * DAY, asset_id="a2", vulnerability_id="CVE-9"),  # nothing open
        (vulns, b"{not json"),
        (
            assets,
            cloudevent(detected, T, {"asset_id": "a1", "vulnerability_id": "X", "severity": "low"}, id_="x"),
        ),
        # The inventory arrives after the findings: business units resolve at snapshot time.
        asset(
            "a1", "asset.observed", T - 100 * DAY, asset_id="a1", business_unit="payments", kind="endpoint"
        ),
        asset("a2", "asset.observed", T - 100 * DAY, asset_id="a2", business_unit="retail", kind="server"),
        asset("a3", "asset.observed", T - 100 * DAY, asset_id="a3", business_unit="retail", kind="server"),
        asset("a3r", "asset.retired", T - 1 * DAY, asset_id="a3"),
    ]


DISTINCT_VALID = 14 + 4  # v1..v14 and four asset events; the duplicate v1 and two bad records are not stored


@pytest.fixture
async def api_url(settings: Settings) -> AsyncIterator[str]:
    async with serve_api(settings) as url:
        yield url


async def scrape_at(url: str, at: datetime) -> Series:
    """/metrics once it serves the snapshot taken at `at`."""
    result: dict[str, Series] = {}

    async def served() -> bool:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{url}/metrics")
        assert response.status_code == 200
        result["s"] = parse_metrics(response.text)
        return sample(result["s"], "trustline_snapshot_timestamp_seconds") == at.timestamp()

    await eventually(served)
    return result["s"]


def dead_letters(bootstrap: str, topics: list[str], expected: int) -> list[dict[str, bytes]]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "dlq-check", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe(topics)
    found: list[dict[str, bytes]] = []
    try:
        for _ in range(60):
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                found.append(dict(msg.headers() or []))
            if len(found) >= expected:
                break
    finally:
        consumer.close()
    return found


async def test_events_to_metrics(
    settings: Settings, db: asyncpg.Connection, worker: Settings, api_url: str
) -> None:
    produce(settings.bootstrap_servers(), scenario(settings.topic_prefix))

    async def all_stored() -> bool:
        return await db.fetchval("SELECT count(*) FROM raw_events") == DISTINCT_VALID

    await eventually(all_stored)
    await snapshot_at(settings, Policy(), T)
    m = await scrape_at(api_url, T)

    # CVE-1 (payments, critical): 13 d - 8 d = 5 d = 432000 s <= 7 d SLA -> met.
    # Remediated at T-8d: inside 30d and 90d, outside 7d (T-8d is not in (T-7d, T]).
    for window in ("30d", "90d"):
        lbl = {"business_unit": "payments", "severity": "critical", "window": window}
        assert sample(m, "trustline_time_to_patch_seconds_count", **lbl) == 1
        assert sample(m, "trustline_time_to_patch_seconds_sum", **lbl) == 432000
        assert sample(m, "trustline_time_to_patch_seconds_bucket", **lbl, le="259200.0") == 0
        assert sample(m, "trustline_time_to_patch_seconds_bucket", **lbl, le="604800.0") == 1
        assert sample(m, "trustline_time_to_patch_seconds_bucket", **lbl, le="+Inf") == 1
        assert sample(m, "trustline_patch_remediations", **lbl, sla="met") == 1
        assert sample(m, "trustline_patch_remediations", **lbl, sla="missed") == 0
    assert not names_with(m, "trustline_patch_remediations", severity="critical", window="7d")

    # CVE-2 (payments, high): the clock starts at the first detection (T-40d), not the re-detection
    # (T-20d): 40 d - 2 d = 38 d = 3283200 s > 30 d SLA -> missed. Remediated T-2d: in every window.
    for window in ("7d", "30d", "90d"):
        lbl = {"business_unit": "payments", "severity": "high", "window": window}
        assert sample(m, "trustline_time_to_patch_seconds_count", **lbl) == 1
        assert sample(m, "trustline_time_to_patch_seconds_sum", **lbl) == 3283200
        assert sample(m, "trustline_time_to_patch_seconds_bucket", **lbl, le="2592000.0") == 0
        assert sample(m, "trustline_time_to_patch_seconds_bucket", **lbl, le="5184000.0") == 1
        assert sample(m, "trustline_patch_remediations", **lbl, sla="met") == 0
        assert sample(m, "trustline_patch_remediations", **lbl, sla="missed") == 1

    def open_(bu: str, sev: str, status: str) -> float | None:
        return sample(m, "trustline_vulnerabilities_open", business_unit=bu, severity=sev, sla_status=status)

    # CVE-3 (retail, medium): remediated only at T+30min, so open at T; 100 d > 90 d -> breached.
    assert (open_("retail", "medium", "within_sla"), open_("retail", "medium", "breached")) == (0, 1)
    assert open_("retail", "medium", "accepted") == 0
    # CVE-4 (retail, low): 45 d <= 120 d. CVE-5 (retail): high since T-1d, 3 d old. CVE-7: unknown asset.
    assert open_("retail", "low", "within_sla") == 1
    assert open_("retail", "high", "within_sla") == 1  # CVE-6 on retired a3 does not count
    assert open_("retail", "high", "breached") == 0
    assert open_("unassigned", "low", "within_sla") == 1
    assert not names_with(m, "trustline_vulnerabilities_open", severity="critical")  # CVE-5 is high now
    assert not names_with(m, "trustline_vulnerabilities_open", business_unit="payments")  # only info is open
    assert not names_with(m, "trustline_vulnerabilities_open", severity="info")

    def backlog(bu: str, sev: str, bucket: str) -> float | None:
        return sample(m, "trustline_vulnerability_backlog", business_unit=bu, severity=sev, age_bucket=bucket)

    assert [backlog("retail", "medium", b) for b in ("0-30d", "31-60d", "61-90d", "90d+")] == [0, 0, 0, 1]
    assert [backlog("retail", "low", b) for b in ("0-30d", "31-60d", "61-90d", "90d+")] == [0, 1, 0, 0]
    assert backlog("retail", "high", "0-30d") == 1 and backlog("unassigned", "low", "0-30d") == 1

    # Debt: CVE-3 is 100 d old against a 90 d SLA -> 10 d = 864000 s; everything else is within its SLA.
    assert sample(m, "trustline_security_debt_seconds", business_unit="retail", severity="medium") == 864000
    assert sample(m, "trustline_security_debt_seconds", business_unit="retail", severity="low") == 0
    oldest = "trustline_vulnerability_oldest_open_age_seconds"
    assert sample(m, oldest, business_unit="retail", severity="medium") == 100 * 86400
    assert sample(m, oldest, business_unit="retail", severity="low") == 45 * 86400
    assert sample(m, oldest, business_unit="retail", severity="high") == 3 * 86400

    # The duplicate was stored once; the remediation with nothing open changed nothing.
    assert await db.fetchval("SELECT count(*) FROM raw_events WHERE id = 'v1'") == 1
    assert await db.fetchval("SELECT count(*) FROM vuln_cycle_versions WHERE vulnerability_id = 'CVE-9'") == 0

    # Both bad records were dead-lettered with their reason and origin.
    prefix = settings.topic_prefix
    dlq = dead_letters(
        settings.bootstrap_servers(), [f"{prefix}.vulnerabilities.dlq", f"{prefix}.assets.dlq"], 2
    )
    assert sorted(h["trustline-dlq-reason"] for h in dlq) == [b"invalid_json", b"type_not_allowed_on_topic"]
    assert {h["trustline-dlq-topic"] for h in dlq} == {
        f"{prefix}.vulnerabilities".encode(),
        f"{prefix}.assets".encode(),
    }


async def test_live_snapshot_sees_what_came_after_t(
    settings: Settings, db: asyncpg.Connection, worker: Settings
) -> None:
    produce(settings.bootstrap_servers(), scenario(settings.topic_prefix))

    async def all_stored() -> bool:
        return await db.fetchval("SELECT count(*) FROM raw_events") == DISTINCT_VALID

    await eventually(all_stored)
    now = datetime.now(UTC)
    await snapshot_at(settings, Policy(), now)
    stored = await samples_at(db, now)
    retail_medium = {"business_unit": "retail", "severity": "medium"}
    got = {
        (s.name, s.labels.get("sla")): s.value
        for s in stored
        if retail_medium.items() <= s.labels.items() and s.labels.get("window") == "7d"
    }
    # CVE-3 closed at T+30min: 100 d 30 min after detection, far past the 90 d SLA.
    assert got[("trustline_patch_remediations", "missed")] == 1
    assert got[("trustline_time_to_patch_seconds_sum", None)] == 100 * 86400 + 1800
    open_medium = [
        s
        for s in stored
        if s.name == "trustline_vulnerabilities_open" and retail_medium.items() <= s.labels.items()
    ]
    assert open_medium == []
