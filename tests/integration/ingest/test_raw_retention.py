"""Raw-event retention: dropping whole months never changes a metric inside the kept history; ingest
refuses what would need a dropped month, and still recognises a replay of a dropped event."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from tests.conftest import eventually
from tests.helpers import produce, read_topic
from tests.scenario import D, H, ev, load, snapshot
from trustline.aggregator.loop import Aggregator
from trustline.shared.policy import Policy
from trustline.shared.retention import drop_months
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)
DAYS = 90
OLD_FEED = "test/old-feed"


def scenario() -> list[dict[str, Any]]:
    """Half a year of every domain: entities born long before the horizon, changing after it."""
    return [
        ev("asset.observed", NOW - 200 * D, asset_id="h1", business_unit="retail", edr_required=True,
           os_family="linux"),
        ev("asset.observed", NOW - 10 * D, asset_id="h1", business_unit="retail", edr_required=True,
           os_family="linux"),
        ev("edr.heartbeat", NOW - H, asset_id="h1"),
        # A feed silent for 150 days: its freshness must survive its month being dropped.
        ev("asset.observed", NOW - 150 * D, source=OLD_FEED, id_="old-1", asset_id="h2", business_unit="ops"),
        ev("vulnerability.detected", NOW - 180 * D, asset_id="h1", vulnerability_id="v1", severity="critical"),
        ev("vulnerability.remediated", NOW - 5 * D, asset_id="h1", vulnerability_id="v1"),
        ev("vulnerability.detected", NOW - 150 * D, id_="v2-detected", asset_id="h1", vulnerability_id="v2",
           severity="high"),
        ev("vulnerability.detected", NOW - 170 * D, asset_id="h1", vulnerability_id="v3", severity="medium"),
        ev("vulnerability.remediated", NOW - 120 * D, asset_id="h1", vulnerability_id="v3"),
        ev("identity.observed", NOW - 160 * D, user_id="u1", privileged=True, business_unit="retail"),
        ev("mfa.enrolled", NOW - 159 * D, user_id="u1", factor_type="webauthn"),
        ev("incident.opened", NOW - 130 * D, incident_id="i1", severity="high"),
        ev("incident.resolved", NOW - 100 * D, incident_id="i1"),
        ev("incident.opened", NOW - 20 * D, incident_id="i2", severity="critical"),
        ev("cloud.evaluated", NOW - 2 * D, source="test/cspm", resource_id="b1", control_id="c1", status="fail",
           severity="high", provider="aws"),
    ]  # fmt: skip


def _month_end(at: datetime) -> datetime:
    first = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


async def test_dropping_months_changes_no_metric_inside_the_kept_history(
    clean: Settings, db: asyncpg.Connection
) -> None:
    await load(db, scenario())
    # Months that end 90 days or more before now go: the horizon is the end of the newest of them.
    horizon = _month_end(NOW - DAYS * D - timedelta(days=31))
    while _month_end(horizon) <= NOW - DAYS * D:
        horizon = _month_end(horizon)
    inside = [horizon, horizon + 5 * D, NOW - 60 * D, NOW - 30 * D, NOW]
    before = {at: await snapshot(db, at) for at in inside}
    state = await db.fetchval("SELECT count(*) FROM vuln_cycle_versions")

    assert await drop_months(db, now=NOW, days=DAYS) >= 3  # at least 200 to 90 days ago: 3 whole months
    assert await db.fetchval("SELECT count(*) FROM raw_events WHERE time < $1", horizon) == 0
    stored_horizon = await db.fetchval(
        "SELECT (max(month) + interval '1 month')::timestamp AT TIME ZONE 'UTC' FROM raw_events_dropped"
    )
    assert stored_horizon == horizon
    for at in inside:
        assert await snapshot(db, at) == before[at], at
    assert await db.fetchval("SELECT count(*) FROM vuln_cycle_versions") == state
    # The silent feed keeps its freshness: its only event, 150 days ago, is in a dropped month.
    freshness = ("trustline_source_last_event_timestamp_seconds", frozenset({("source", OLD_FEED)}))
    assert before[NOW][freshness] == (NOW - 150 * D).timestamp()
    # A second pass finds nothing more to drop.
    assert await drop_months(db, now=NOW, days=DAYS) == 0


async def test_ingest_refuses_events_before_the_horizon_and_recognises_replays(
    worker: Settings, db: asyncpg.Connection
) -> None:
    settings = worker
    events = scenario()
    await load(db, events)
    await drop_months(db, now=NOW, days=DAYS)
    topic = f"{settings.topic_prefix}.vulnerabilities"
    replay = next(e for e in events if e["id"] == "v2-detected")  # stored, and its month is gone
    late = ev("vulnerability.detected", NOW - 140 * D, id_="late", asset_id="h1", vulnerability_id="v9",
              severity="low")  # fmt: skip
    fixed = ev("vulnerability.remediated", NOW - D, id_="fixed", asset_id="h1", vulnerability_id="v2")
    keys = await db.fetchval("SELECT count(*) FROM raw_event_keys")
    await asyncio.to_thread(
        produce, settings.bootstrap_servers(), [(topic, e) for e in (replay, late, fixed)]
    )

    async def fixed_stored() -> bool:
        return bool(await db.fetchval("SELECT count(*) FROM raw_events WHERE id = 'fixed'"))

    await eventually(fixed_stored, seconds=60)
    [dead] = await asyncio.to_thread(read_topic, settings.bootstrap_servers(), f"{topic}.dlq", 1)
    headers = dict(dead.headers())
    assert headers["trustline-dlq-reason"] == b"time_out_of_range"
    assert b"retention horizon" in headers["trustline-dlq-detail"]
    assert json.loads(dead.value())["id"] == "late"
    # The replay was a duplicate (no new key, no dead letter); only `fixed` is new.
    assert await db.fetchval("SELECT count(*) FROM raw_event_keys") == keys + 1
    # v2's cycle, detected in a dropped month, closes from its stored version: 149 days to patch.
    m = await snapshot(db, NOW)
    labels = frozenset({("business_unit", "retail"), ("severity", "high"), ("window", "7d")})
    assert m[("trustline_time_to_patch_seconds_sum", labels)] == 149 * 86400


async def test_the_aggregator_leader_applies_the_retention(clean: Settings, db: asyncpg.Connection) -> None:
    await load(db, scenario())
    settings = clean.model_copy(update={"aggregation_interval_seconds": 0.1, "raw_retention_days": DAYS})
    stop = asyncio.Event()
    task = asyncio.create_task(Aggregator(settings, Policy()).run(stop))
    try:

        async def dropped() -> bool:
            return bool(await db.fetchval("SELECT count(*) >= 3 FROM raw_events_dropped"))

        await eventually(dropped)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    # The newest dropped month ends at most 90 days ago: the 5 events of the last 90 days (h1 observed
    # 10 d ago, its heartbeat, v1's remediation, incident i2, the cloud check) all stay.
    assert await db.fetchval("SELECT count(*) FROM raw_events WHERE time > $1", NOW - DAYS * D) == 5
