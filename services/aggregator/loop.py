"""The aggregator loop: one leader (a PostgreSQL advisory lock) snapshots every interval."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import asyncpg
from prometheus_client import Gauge, Histogram

from trustline.shared.aio import wait_or_stop
from trustline.shared.db import is_transient
from trustline.shared.policy import Policy
from trustline.shared.settings import Settings

from .snapshot import snapshot_once

log = logging.getLogger(__name__)
LEADER_LOCK_ID = 0x7472_7573_746C  # "trustl": one aggregator writes snapshots at a time
DURATION = Histogram("trustline_aggregation_duration_seconds", "Time to compute one snapshot")
LAST_SUCCESS = Gauge(
    "trustline_aggregation_last_success_timestamp_seconds", "When a snapshot was last stored"
)


async def _lead(conn: asyncpg.Connection, settings: Settings, policy: Policy, stop: asyncio.Event) -> None:
    while not stop.is_set():
        n, seconds = await snapshot_once(conn, at=datetime.now(UTC), policy=policy)
        DURATION.observe(seconds)
        LAST_SUCCESS.set_to_current_time()
        log.debug("snapshot: %d samples in %.3fs", n, seconds)
        await wait_or_stop(stop, settings.aggregation_interval_seconds)


async def run_aggregator(settings: Settings, policy: Policy, stop: asyncio.Event) -> None:
    """Snapshot every interval while leader; followers wait for the lock; survive database outages."""
    while not stop.is_set():
        try:
            conn = await asyncpg.connect(settings.asyncpg_dsn(), timeout=10)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("database unreachable (%s); retrying", exc.__class__.__name__)
            await wait_or_stop(stop, 2.0)
            continue
        try:
            if await conn.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK_ID):
                log.info("leading: writing a snapshot every %.1fs", settings.aggregation_interval_seconds)
                await _lead(conn, settings, policy, stop)
            else:
                await wait_or_stop(stop, settings.aggregation_interval_seconds)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("lost the database (%s); retrying", exc.__class__.__name__)
            await wait_or_stop(stop, 2.0)
        finally:
            await conn.close(timeout=5)


async def snapshot_at(settings: Settings, policy: Policy, at: datetime) -> tuple[int, float]:
    """Compute and store one snapshot at `at` (backfill, tests, `aggregate --once`)."""
    conn = await asyncpg.connect(settings.asyncpg_dsn(), timeout=10)
    try:
        return await snapshot_once(conn, at=at, policy=policy)
    finally:
        await conn.close(timeout=5)
