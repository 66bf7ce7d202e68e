"""Metric history: hourly downsampling, retention by dropped partitions, backfill, and one leader."""

from __future__ import annotations

import asyncio
import importlib
from datetime import timedelta

import asyncpg
import pytest
from alembic import command
from rich.console import Console

from tests.conftest import eventually
from tests.scenario import D, H, T, ev, load
from trustline.aggregator.backfill import backfill
from trustline.aggregator.loop import Aggregator
from trustline.shared.metrics.samples import Sample
from trustline.shared.metrics.store import partition_name, prune, write_snapshot
from trustline.shared.migrations import alembic_config, upgrade
from trustline.shared.policy import Policy
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
M = H / 60


async def test_prune_keeps_one_snapshot_per_hour_then_nothing(
    clean: Settings, db: asyncpg.Connection
) -> None:
    now = T
    times = [
        now - 500 * D,
        now - 20 * D,
        now - 20 * D + 5 * M,
        now - 20 * D + 70 * M,
        now - D,
        now - D + 5 * M,
    ]
    for at in times:
        await write_snapshot(db, at=at, samples=[Sample("trustline_snapshot_timestamp_seconds", {}, at.timestamp())],
                             seconds=0.0, writer="test")  # fmt: skip
    removed = await prune(db, now=now, full_resolution=timedelta(days=14), retention=timedelta(days=400))
    kept = [r["at"] for r in await db.fetch("SELECT at FROM snapshots ORDER BY at")]
    # 500 d: past retention. 20 d ago: the 5-minute-later one shares the first one's hour. Yesterday: all kept.
    assert kept == [now - 20 * D, now - 20 * D + 70 * M, now - D, now - D + 5 * M]
    assert removed == 2
    assert await db.fetchval("SELECT to_regclass($1)", partition_name((now - 500 * D).date())) is None
    assert await db.fetchval("SELECT count(*) FROM metric_samples") == 4


async def test_backfill_rewrites_history_under_a_new_policy(clean: Settings, db: asyncpg.Connection) -> None:
    await load(
        db, [ev("vulnerability.detected", T - 10 * D, asset_id="h", vulnerability_id="v", severity="high")]
    )
    await backfill(clean, Policy(), start=T - 2 * D, end=T, step=D, console=Console(quiet=True))
    query = (
        "SELECT s.snapshot_at, s.value FROM metric_samples s WHERE s.name = 'trustline_vulnerabilities_open' "
        "AND s.labels->>'sla_status' = 'breached' ORDER BY 1"
    )
    assert [(r["snapshot_at"], r["value"]) for r in await db.fetch(query)] == [
        (T - 2 * D, 0),
        (T - D, 0),
        (T, 0),
    ]
    strict = Policy.model_validate({"sla_days": {"critical": 3, "high": 8, "medium": 30, "low": 60}})
    await backfill(clean, strict, start=T - 2 * D, end=T, step=D, console=Console(quiet=True))
    # With an 8 d SLA the cycle (detected T-10d) is 8 d old at T-2d (not past it), 9 d at T-1d, 10 d at T.
    assert [(r["snapshot_at"], r["value"]) for r in await db.fetch(query)] == [
        (T - 2 * D, 0),
        (T - D, 1),
        (T, 1),
    ]
    assert await db.fetchval("SELECT count(*) FROM snapshots") == 3


async def test_two_aggregators_one_writer_and_failover(clean: Settings, db: asyncpg.Connection) -> None:
    settings = clean.model_copy(update={"aggregation_interval_seconds": 0.1})
    stops = {"a": asyncio.Event(), "b": asyncio.Event()}
    tasks = {n: asyncio.create_task(Aggregator(settings, Policy(), writer=n).run(stops[n])) for n in stops}
    try:

        async def several() -> bool:
            return bool(await db.fetchval("SELECT count(*) >= 8 FROM snapshots"))

        await eventually(several)
        writers = {r["writer"] for r in await db.fetch("SELECT DISTINCT writer FROM snapshots")}
        assert len(writers) == 1, writers  # both ran; only the leader wrote
        leader = writers.pop()
        follower = "b" if leader == "a" else "a"
        stops[leader].set()
        await asyncio.wait_for(tasks[leader], 10)

        async def taken_over() -> bool:
            return bool(await db.fetchval("SELECT count(*) >= 3 FROM snapshots WHERE writer = $1", follower))

        await eventually(taken_over)
    finally:
        for stop in stops.values():
            stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks.values()), 10)


async def test_migration_converts_stored_security_debt_to_seconds_and_back(
    clean: Settings, db: asyncpg.Connection
) -> None:
    migration = importlib.import_module("trustline.shared.migrations.versions.0007_debt_seconds")
    cfg = alembic_config(clean)
    query = "SELECT name, labels->>'severity' AS severity, value FROM metric_samples ORDER BY name, 2"
    await asyncio.to_thread(command.downgrade, cfg, migration.down_revision)
    try:
        # History written before the rename: debt in days, next to a family that must not change.
        old = [
            Sample("trustline_security_debt_days", {"business_unit": "retail", "severity": "high"}, 2.5),
            Sample("trustline_security_debt_days", {"business_unit": "retail", "severity": "low"}, 0.0),
            Sample("trustline_incidents_open", {"severity": "high"}, 3.0),
        ]
        await write_snapshot(db, at=T - D, samples=old, seconds=0.0, writer="test")
    finally:
        await asyncio.to_thread(upgrade, clean)
    # 2.5 d = 2.5 x 86400 s = 216000 s; 0 stays 0; the other family is untouched.
    assert [tuple(r) for r in await db.fetch(query)] == [
        ("trustline_incidents_open", "high", 3.0),
        ("trustline_security_debt_seconds", "high", 216000.0),
        ("trustline_security_debt_seconds", "low", 0.0),
    ]
    await asyncio.to_thread(command.downgrade, cfg, migration.down_revision)
    try:
        assert [tuple(r) for r in await db.fetch(query)] == [
            ("trustline_incidents_open", "high", 3.0),
            ("trustline_security_debt_days", "high", 2.5),
            ("trustline_security_debt_days", "low", 0.0),
        ]
    finally:
        await asyncio.to_thread(upgrade, clean)
