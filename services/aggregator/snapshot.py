"""Compute a snapshot as of an instant and store it in the metric history."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg

from trustline.shared.policy import Policy

from .samples import Sample
from .vulnerabilities import vulnerability_samples


async def compute_snapshot(conn: asyncpg.Connection, *, at: datetime, policy: Policy) -> list[Sample]:
    """Every metric family as of `at`, from stored state only (the same code for now and the past)."""
    samples = await vulnerability_samples(conn, at=at, policy=policy)
    samples.append(Sample("trustline_snapshot_timestamp_seconds", {}, at.timestamp()))
    return samples


async def write_snapshot(
    conn: asyncpg.Connection, *, at: datetime, samples: list[Sample], seconds: float
) -> None:
    """Store one snapshot and its samples (replacing an earlier snapshot at the same instant)."""
    async with conn.transaction():
        await conn.execute("DELETE FROM snapshots WHERE at = $1", at)
        await conn.execute(
            "INSERT INTO snapshots (at, computed_at, duration_seconds, samples) VALUES ($1, $2, $3, $4)",
            at,
            datetime.now(UTC),
            seconds,
            len(samples),
        )
        records = [(at, s.name, json.dumps(dict(s.labels), sort_keys=True), s.value) for s in samples]
        await conn.copy_records_to_table(
            "metric_samples", records=records, columns=("snapshot_at", "name", "labels", "value")
        )


async def snapshot_once(conn: asyncpg.Connection, *, at: datetime, policy: Policy) -> tuple[int, float]:
    """Compute and store the snapshot at `at`; returns (samples, seconds)."""
    started = time.perf_counter()
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        samples = await compute_snapshot(conn, at=at, policy=policy)
    seconds = time.perf_counter() - started
    await write_snapshot(conn, at=at, samples=samples, seconds=seconds)
    return len(samples), seconds


async def latest_snapshot(conn: asyncpg.Connection) -> tuple[datetime, list[Sample]] | None:
    """The newest stored snapshot with its samples, or None when there is none."""
    at = await conn.fetchval("SELECT max(at) FROM snapshots")
    if at is None:
        return None
    rows: list[Any] = await conn.fetch(
        "SELECT name, labels::text AS labels, value FROM metric_samples WHERE snapshot_at = $1", at
    )
    return at, [Sample(r["name"], json.loads(r["labels"]), r["value"]) for r in rows]
