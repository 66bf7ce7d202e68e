"""The metric history: daily partitions, hourly downsampling of old snapshots, retention."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import asyncpg

from trustline.shared.sql import Query, execute, fetch, fetchval

from .samples import Sample

_PARTITION_LOCK = 0x7472_7573_7450  # serialises partition creation between writers
_PARTITION_EXISTS = Query("SELECT to_regclass(:partition) IS NOT NULL")
_LOCK = Query("SELECT pg_advisory_xact_lock(:lock)")
# The services' role owns no table: the schema owner's SECURITY DEFINER function (migration 0006) creates
# the day's partition.
_CREATE_PARTITION = Query("SELECT trustline_create_metric_samples_partition(:day::date)")


def partition_name(day: date) -> str:
    """The partition of metric_samples that holds one UTC day."""
    return f"metric_samples_p{day:%Y%m%d}"


async def ensure_partition(conn: asyncpg.Connection, day: date) -> None:
    """Create the day's partition unless it exists (inside the caller's transaction)."""
    if await fetchval(conn, _PARTITION_EXISTS, partition=partition_name(day)):
        return
    await execute(conn, _LOCK, lock=_PARTITION_LOCK)
    await execute(conn, _CREATE_PARTITION, day=day)


_REPLACE = Query("DELETE FROM snapshots WHERE at = :at")
_INSERT = Query(
    "INSERT INTO snapshots (at, computed_at, duration_seconds, samples, writer) "
    "VALUES (:at, :computed_at, :duration_seconds, :samples, :writer)"
)


async def write_snapshot(
    conn: asyncpg.Connection, *, at: datetime, samples: list[Sample], seconds: float, writer: str
) -> None:
    """Store one snapshot and its samples, replacing an earlier snapshot at the same instant."""
    async with conn.transaction():
        await ensure_partition(conn, at.astimezone(UTC).date())
        await execute(conn, _REPLACE, at=at)
        await execute(
            conn,
            _INSERT,
            at=at,
            computed_at=datetime.now(UTC),
            duration_seconds=seconds,
            samples=len(samples),
            writer=writer,
        )
        records = [(at, s.name, json.dumps(dict(s.labels), sort_keys=True), s.value) for s in samples]
        await conn.copy_records_to_table(
            "metric_samples", records=records, columns=("snapshot_at", "name", "labels", "value")
        )


_LATEST = Query("SELECT max(at) FROM snapshots")


async def latest_at(conn: asyncpg.Connection) -> datetime | None:
    """The instant of the newest stored snapshot, or None when there is none."""
    at: datetime | None = await fetchval(conn, _LATEST)
    return at


_EXISTS = Query("SELECT EXISTS (SELECT 1 FROM snapshots WHERE at = :at)")


async def exists(conn: asyncpg.Connection, at: datetime) -> bool:
    """Whether a snapshot is stored at exactly `at`."""
    return bool(await fetchval(conn, _EXISTS, at=at))


_SAMPLES = Query("SELECT name, labels::text AS labels, value FROM metric_samples WHERE snapshot_at = :at")


async def samples_at(conn: asyncpg.Connection, at: datetime) -> list[Sample]:
    """The samples of the snapshot stored at `at` (none when there is no such snapshot)."""
    rows = await fetch(conn, _SAMPLES, at=at)
    return [Sample(r["name"], json.loads(r["labels"]), r["value"]) for r in rows]


async def latest_snapshot(conn: asyncpg.Connection) -> tuple[datetime, list[Sample]] | None:
    """The newest stored snapshot with its samples, or None when there is none."""
    at = await latest_at(conn)
    return None if at is None else (at, await samples_at(conn, at))


# Whole days past retention go with their partition, dropped by the schema owner's SECURITY DEFINER
# function (migration 0006); partitions not named by day (e.g. a default one) stay.
_DROP_PARTITIONS = Query("SELECT trustline_drop_metric_samples_partitions(:before)")
_DELETE_BEFORE = Query("DELETE FROM snapshots WHERE at < :before")
# The first snapshot of each hour stands for the hour.
_DOWNSAMPLE = Query(
    "DELETE FROM snapshots s WHERE s.at < :before AND EXISTS (SELECT 1 FROM snapshots o "
    "WHERE o.at < s.at AND o.at >= date_trunc('hour', s.at))"
)


async def prune(
    conn: asyncpg.Connection, *, now: datetime, full_resolution: timedelta, retention: timedelta
) -> int:
    """One snapshot per hour beyond `full_resolution`, none beyond `retention`; returns how many went."""
    cutoff = now - retention
    removed = 0
    async with conn.transaction():
        await execute(conn, _DROP_PARTITIONS, before=cutoff)
        removed += int((await execute(conn, _DELETE_BEFORE, before=cutoff)).split()[-1])
        status = await execute(conn, _DOWNSAMPLE, before=now - full_resolution)
        removed += int(status.split()[-1])
    return removed
