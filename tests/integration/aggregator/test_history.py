"""Metric history: hourly downsampling, retention, backfill, one leader, and the migrations of stored history."""

from __future__ import annotations

import asyncio
import importlib
import json
from datetime import datetime, timedelta

import asyncpg
import pytest
from alembic import command
from rich.console import Console

from tests.conftest import eventually
from tests.scenario import D, H, T, ev, load
from trustline.aggregator.backfill import backfill
from trustline.aggregator.loop import Aggregator
from trustline.shared.metrics.samples import Sample
from trustline.shared.metrics.store import prune, samples_at, write_snapshot
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
        timestamp = Sample("trustline_snapshot_timestamp_seconds", {}, at.timestamp(), slope=1.0)
        await write_snapshot(db, at=at, samples=[timestamp], seconds=0.0, writer="test")
    removed = await prune(db, now=now, full_resolution=timedelta(days=14), retention=timedelta(days=400))
    kept = [r["at"] for r in await db.fetch("SELECT at FROM snapshots ORDER BY at")]
    # 500 d: past retention. 20 d ago: the 5-minute-later one shares the first one's hour. Yesterday: all kept.
    assert kept == [now - 20 * D, now - 20 * D + 70 * M, now - D, now - D + 5 * M]
    assert removed == 2
    # The timestamp grows with the clock: one interval holds it from the first snapshot on, and each kept
    # snapshot still reads its own instant.
    assert await db.fetchval("SELECT count(*) FROM metric_values") == 1
    for at in kept:
        assert await samples_at(db, at) == [
            Sample("trustline_snapshot_timestamp_seconds", {}, at.timestamp())
        ]


async def test_backfill_rewrites_history_under_a_new_policy(clean: Settings, db: asyncpg.Connection) -> None:
    await load(
        db, [ev("vulnerability.detected", T - 10 * D, asset_id="h", vulnerability_id="v", severity="high")]
    )
    await backfill(clean, Policy(), start=T - 2 * D, end=T, step=D, console=Console(quiet=True))

    async def breached() -> list[tuple[object, float]]:
        out = []
        for at in [r["at"] for r in await db.fetch("SELECT at FROM snapshots ORDER BY at")]:
            for s in await samples_at(db, at):
                if s.name == "trustline_vulnerabilities_open" and s.labels["sla_status"] == "breached":
                    out.append((at, s.value))
        return out

    assert await breached() == [
        (T - 2 * D, 0),
        (T - D, 0),
        (T, 0),
    ]
    strict = Policy.model_validate({"sla_days": {"critical": 3, "high": 8, "medium": 30, "low": 60}})
    await backfill(clean, strict, start=T - 2 * D, end=T, step=D, console=Console(quiet=True))
    # With an 8 d SLA the cycle (detected T-10d) is 8 d old at T-2d (not past it), 9 d at T-1d, 10 d at T.
    assert await breached() == [
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
    clean: Settings, db: asyncpg.Connection, owner_db: asyncpg.Connection
) -> None:
    migration = importlib.import_module("trustline.shared.migrations.versions.0007_debt_seconds")
    cfg = alembic_config(clean)
    query = "SELECT name, labels->>'severity' AS severity, value FROM metric_samples ORDER BY name, 2"
    await asyncio.to_thread(command.downgrade, cfg, migration.down_revision)
    try:
        # History written before the rename (one sample per row, as the writer stored it then): debt in
        # days, next to a family that must not change.
        await write_samples_table(owner_db, T - D, [
            ("trustline_security_debt_days", {"business_unit": "retail", "severity": "high"}, 2.5),
            ("trustline_security_debt_days", {"business_unit": "retail", "severity": "low"}, 0.0),
            ("trustline_incidents_open", {"severity": "high"}, 3.0),
        ])  # fmt: skip
    finally:
        await asyncio.to_thread(upgrade, clean)
    # 2.5 d = 2.5 x 86400 s = 216000 s; 0 stays 0; the other family is untouched.
    assert sorted((s.name, s.labels["severity"], s.value) for s in await samples_at(db, T - D)) == [
        ("trustline_incidents_open", "high", 3.0),
        ("trustline_security_debt_seconds", "high", 216000.0),
        ("trustline_security_debt_seconds", "low", 0.0),
    ]
    await asyncio.to_thread(command.downgrade, cfg, migration.down_revision)
    try:
        # Revision 0007's table again (the history expanded back into samples), read by its owner.
        assert [tuple(r) for r in await owner_db.fetch(query)] == [
            ("trustline_incidents_open", "high", 3.0),
            ("trustline_security_debt_days", "high", 2.5),
            ("trustline_security_debt_days", "low", 0.0),
        ]
    finally:
        await asyncio.to_thread(upgrade, clean)


async def write_samples_table(
    db: asyncpg.Connection, at: datetime, samples: list[tuple[str, dict[str, str], float]]
) -> None:
    """A snapshot as revisions 0001 to 0007 stored it: a marker and one `metric_samples` row per sample."""
    await db.execute("SELECT trustline_create_metric_samples_partition($1::date)", at.date())
    await db.execute(
        "INSERT INTO snapshots (at, computed_at, duration_seconds, samples, writer) VALUES ($1, now(), 0, $2, 'old')",
        at, len(samples),
    )  # fmt: skip
    await db.executemany(
        "INSERT INTO metric_samples (snapshot_at, name, labels, value) VALUES ($1, $2, $3::jsonb, $4)",
        [(at, name, json.dumps(labels), value) for name, labels, value in samples],
    )
