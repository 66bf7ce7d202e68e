"""The demo's past is sent once per database and backfilled into the metric history once: a second run
streams live events on top of it and doubles nothing."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import asyncpg
import pytest
from rich.console import Console

from tests.conftest import eventually
from trustline.cli.demo_backfill import daily_backfill
from trustline.demo.run import DemoOptions, run_demo
from trustline.ingest.worker import run_worker
from trustline.shared.metrics.snapshot import compute_snapshot
from trustline.shared.metrics.store import samples_at
from trustline.shared.policy import Policy
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
OPTIONS = DemoOptions(seed=5, assets=150, identities=100, history_days=6, rate=100.0, duration=1.0)


async def _stored_samples(db: asyncpg.Connection, at: object) -> dict[tuple[str, str], float]:
    return {(s.name, json.dumps(dict(s.labels), sort_keys=True)): s.value for s in await samples_at(db, at)}


async def test_a_second_run_sends_no_history_again_and_backfills_once(
    settings: Settings, db: asyncpg.Connection
) -> None:
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, stop))
    quiet = Console(quiet=True)
    try:
        await run_demo(settings, OPTIONS, asyncio.Event(), quiet, daily_backfill(settings))
        marker = await db.fetchrow("SELECT * FROM demo_history")
        assert marker["stored_at"] is not None and marker["backfilled_at"] is not None
        start, end = marker["start_at"], marker["end_at"]
        assert end - start == timedelta(days=OPTIONS.history_days)
        past = await db.fetchval("SELECT count(*) FROM raw_event_keys WHERE time < $1", end)
        assert past > 1000
        # One snapshot a day over the past, so the trend boards have something to draw.
        daily = [
            r["at"]
            for r in await db.fetch("SELECT at FROM snapshots WHERE writer LIKE 'backfill%' ORDER BY at")
        ]
        assert daily == [start + timedelta(days=i) for i in range(OPTIONS.history_days + 1)]
        at_end = await _stored_samples(db, end)
        assert any(name == "trustline_vulnerabilities_open" for name, _ in at_end)

        await run_demo(settings, OPTIONS, asyncio.Event(), quiet, daily_backfill(settings))

        async def live_stored() -> bool:  # the second run's live events arrive, after `end`
            return bool(await db.fetchval("SELECT count(*) FROM raw_event_keys WHERE time > $1", end) > 0)

        await eventually(live_stored)
        assert await db.fetchval("SELECT count(*) FROM raw_event_keys WHERE time < $1", end) == past
        assert await db.fetchval("SELECT count(*) FROM snapshots WHERE writer LIKE 'backfill%'") == len(daily)
        # The past as evaluated now equals what was backfilled: not one event of it was added twice.
        now_at_end = await compute_snapshot(db, at=end, policy=Policy(), max_business_units=50)
        assert {(s.name, json.dumps(dict(s.labels), sort_keys=True)): s.value for s in now_at_end} == at_end
    finally:
        stop.set()
        await asyncio.wait_for(worker, 30)
