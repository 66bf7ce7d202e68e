"""A snapshot: every metric family as of one instant, from stored state only."""

from __future__ import annotations

import time
from datetime import datetime

import asyncpg

from trustline.shared.policy import Policy

from .cardinality import cap_business_units
from .coverage import coverage_samples
from .history import write_snapshot
from .incidents import incident_samples
from .posture import posture_samples
from .samples import Sample
from .sources import source_samples
from .vulnerabilities import vulnerability_samples

WORK_MEM = "64MB"


async def compute_snapshot(
    conn: asyncpg.Connection, *, at: datetime, policy: Policy, max_business_units: int
) -> list[Sample]:
    """Every family as of `at`: the same code for now, the past and tests."""
    samples = [
        *await vulnerability_samples(conn, at=at, policy=policy),
        *await coverage_samples(conn, at=at, policy=policy),
        *await posture_samples(conn, at=at, policy=policy),
        *await incident_samples(conn, at=at),
        *await source_samples(conn, at=at),
        Sample("trustline_snapshot_timestamp_seconds", {}, at.timestamp()),
    ]
    return cap_business_units(samples, max_business_units)


async def snapshot_once(
    conn: asyncpg.Connection, *, at: datetime, policy: Policy, max_business_units: int, writer: str
) -> tuple[int, float]:
    """Compute (in one consistent read) and store the snapshot at `at`; returns (samples, seconds)."""
    started = time.perf_counter()
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        # Room to hash and group a large estate in memory rather than spilling to disk.
        await conn.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        samples = await compute_snapshot(conn, at=at, policy=policy, max_business_units=max_business_units)
    seconds = time.perf_counter() - started
    await write_snapshot(conn, at=at, samples=samples, seconds=seconds, writer=writer)
    return len(samples), seconds
