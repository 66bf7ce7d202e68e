"""The metric history: daily partitions, hourly downsampling of old snapshots, retention."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import asyncpg

from .samples import Sample

_PARTITION_LOCK = 0x7472_7573_7450  # serialises partition creation between writers


def partition_name(day: date) -> str:
    """The partition of metric_samples that holds one UTC day."""
    return f"metric_samples_p{day:%Y%m%d}"


async def ensure_partition(conn: asyncpg.Connection, day: date) -> None:
    """Create the day's partition unless it exists (inside the caller's transaction)."""
    name = partition_name(day)
    if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", name):
        return
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _PARTITION_LOCK)
    # The services' role owns no table: the schema owner's SECURITY DEFINER function (migration 0006)
    # creates the day's partition.
    await conn.execute("SELECT trustline_create_metric_samples_partition($1::date)", day)


async def write_snapshot(
    conn: asyncpg.Connection, *, at: datetime, samples: list[Sample], seconds: float, writer: str
) -> None:
    """Store one snapshot and its samples, replacing an earlier snapshot at the same instant."""
    async with conn.transaction():
        await ensure_partition(conn, at.astimezone(UTC).date())
        await conn.execute("DELETE FROM snapshots WHERE at = $1", at)
        await conn.execute(
            "INSERT INTO snapshots (at, computed_at, duration_seconds, samples, writer) "
            "VALUES ($1, $2, $3, $4, $5)",
            at,
            datetime.now(UTC),
            seconds,
            len(samples),
            writer,
        )
        records = [(at, s.name, json.dumps(dict(s.labels), sort_keys=True), s.value) for s in samples]
        await conn.copy_records_to_table(
            "metric_samples", records=records, columns=("snapshot_at", "name", "labels", "value")
        )


async def latest_at(conn: asyncpg.Connection) -> datetime | None:
    """The instant of the newest stored snapshot, or None when there is none."""
    at: datetime | None = await conn.fetchval("SELECT max(at) FROM snapshots")
    return at


async def samples_at(conn: asyncpg.Connection, at: datetime) -> list[Sample]:
    """The samples of the snapshot stored at `at` (none when there is no such snapshot)."""
    rows = await conn.fetch(
        "SELECT name, labels::text AS labels, value FROM metric_samples WHERE snapshot_at = $1", at
    )
    return [Sample(r["name"], json.loads(r["labels"]), r["value"]) for r in rows]


async def latest_snapshot(conn: asyncpg.Connection) -> tuple[datetime, list[Sample]] | None:
    """The newest stored snapshot with its samples, or None when there is none."""
    at = await latest_at(conn)
    return None if at is None else (at, await samples_at(conn, at))


async def prune(
    conn: asyncpg.Connection, *, now: datetime, full_resolution: timedelta, retention: timedelta
) -> int:
    """One snapshot per hour beyond `full_resolution`, none beyond `retention`; returns how many went."""
    cutoff = now - retention
    removed = 0
    async with conn.transaction():
        # Whole days past retention go with their partition, dropped by the schema owner's SECURITY DEFINER
        # function (migration 0006); partitions not named by day (e.g. a default one) stay.
        await conn.execute("SELECT trustline_drop_metric_samples_partitions($1)", cutoff)
        removed += int((await conn.execute("DELETE FROM snapshots WHERE at < $1", cutoff)).split()[-1])
        # The first snapshot of each hour stands for the hour.
        status = await conn.execute(
            "DELETE FROM snapshots s WHERE s.at < $1 AND EXISTS (SELECT 1 FROM snapshots o "
            "WHERE o.at < s.at AND o.at >= date_trunc('hour', s.at))",
            now - full_resolution,
        )
        removed += int(status.split()[-1])
    return removed
