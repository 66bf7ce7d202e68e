"""The aggregator loop: one leader (a PostgreSQL advisory lock) snapshots every interval."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TypeVar

import asyncpg
from prometheus_client import Gauge, Histogram

from trustline.shared import heartbeat, metrics_server, retention
from trustline.shared.aio import wait_or_stop
from trustline.shared.db import connect, is_transient
from trustline.shared.metrics.live import Live
from trustline.shared.metrics.snapshot import Caps, store_snapshot
from trustline.shared.metrics.store import prune
from trustline.shared.policy import Policy
from trustline.shared.retry import Backoff, Stopped, retry
from trustline.shared.risk import service as registry
from trustline.shared.settings import Settings
from trustline.shared.sql import Query, fetchval

from .telemetry import forget_folds, record_folds

log = logging.getLogger(__name__)
T = TypeVar("T")
LEADER_LOCK_ID = 0x7472_7573_746C  # one aggregator writes snapshots at a time
TRY_LEAD = Query("SELECT pg_try_advisory_lock(:lock)")
DURATION = Histogram("trustline_aggregation_duration_seconds", "Time to compute one snapshot")
LAST_SUCCESS = Gauge(
    "trustline_aggregation_last_success_timestamp_seconds", "When a snapshot was last stored"
)
RECONNECT = Backoff(first=2.0, cap=2.0)


async def _reconnecting(action: Callable[[], Awaitable[T]], what: str, stop: asyncio.Event) -> T:
    """`action`, retried every two seconds while the database cannot be reached."""
    return await retry(action, what=what, stop=stop, backoff=RECONNECT, log=log, transient=is_transient)


def writer_id(role: str = "aggregator") -> str:
    """A name for whoever writes snapshots: unique per process run."""
    return f"{role}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Aggregator:
    """Leader election, the snapshot cadence and history upkeep."""

    def __init__(self, settings: Settings, policy: Policy, *, writer: str | None = None) -> None:
        self.settings = settings
        self.policy = policy
        self.writer = writer or writer_id()
        self._next_prune = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Snapshot while leader; followers wait for the lock; survive database outages."""
        if self.settings.aggregator_metrics_port is not None:
            metrics_server.serve(
                port=self.settings.aggregator_metrics_port,
                host=self.settings.metrics_host,
                token=self.settings.metrics_token,
                max_age=self.settings.heartbeat_max_age_seconds,
            )
        with contextlib.suppress(Stopped):
            await _reconnecting(partial(self._terms, stop), "lost the database", stop)

    async def _terms(self, stop: asyncio.Event) -> None:
        """Lead while holding the lock, else wait one cadence for it; a new connection each term."""
        while not stop.is_set():
            conn = await _reconnecting(partial(connect, self.settings), "database unreachable", stop)
            heartbeat.beat(ready=True)  # leader or follower: this process does its part
            try:
                if await fetchval(conn, TRY_LEAD, lock=LEADER_LOCK_ID):
                    log.info(
                        "%s leads: a snapshot every %.1fs",
                        self.writer,
                        self.settings.aggregation_interval_seconds,
                    )
                    await self._lead(conn, stop)
                else:
                    await wait_or_stop(stop, self.settings.aggregation_interval_seconds)
            finally:
                await conn.close(timeout=5)

    async def _lead(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        try:
            await self._snapshots(conn, stop)
        finally:
            forget_folds()  # whoever leads next reports the caps; a stale figure here would keep alerting

    async def _snapshots(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        # "Now" from what changed: each term starts from a full read (another leader may have run between).
        live = Live(self.policy)
        while not stop.is_set():
            at = datetime.now(UTC)
            # The registry records each expiry (audited at its expiry time); the metrics need no wait for it.
            if expired := await registry.expire_due(conn, now=at):
                log.info("risk register: %d acceptance(s) expired", expired)
            caps = Caps.of(self.settings)
            stored = await live.store(conn, at=at, caps=caps, writer=self.writer)
            DURATION.observe(stored.seconds)
            LAST_SUCCESS.set_to_current_time()
            record_folds(stored.folded)
            log.debug("snapshot: %d samples in %.3fs", stored.samples, stored.seconds)
            if time.monotonic() >= self._next_prune:
                await self._prune(conn)
            await wait_or_stop(stop, self.settings.aggregation_interval_seconds)

    async def _prune(self, conn: asyncpg.Connection) -> None:
        s = self.settings
        removed = await prune(
            conn,
            now=datetime.now(UTC),
            full_resolution=timedelta(days=s.history_full_resolution_days),
            retention=timedelta(days=s.history_retention_days),
        )
        if removed:
            log.info("history: %d snapshots downsampled or past retention removed", removed)
        if s.raw_retention_days is not None:
            months = await retention.drop_months(conn, now=datetime.now(UTC), days=s.raw_retention_days)
            if months:
                log.info("raw events: %d month(s) older than %d days dropped", months, s.raw_retention_days)
        self._next_prune = time.monotonic() + s.history_prune_interval_seconds


async def snapshot_at(
    settings: Settings, policy: Policy, at: datetime, *, writer: str = "manual"
) -> tuple[int, float]:
    """Compute and store one snapshot at `at` (`aggregate --once`, tests)."""
    conn = await connect(settings)
    try:
        stored = await store_snapshot(conn, at=at, policy=policy, caps=Caps.of(settings), writer=writer)
        return stored.samples, stored.seconds
    finally:
        await conn.close(timeout=5)
