"""The metric history: a snapshot marker per stored instant, and each series' values as intervals.

A series' value is stored once per change, not once per snapshot: an interval [valid_from, valid_to)
holds a value and a slope (how the value moves per second with the clock alone), and the value at any
stored snapshot inside it is `value + slope x (at - valid_from)`. A quiet estate writes only its
snapshot markers; ages and debt, which grow with the clock, write only when their slope changes.

Writing a snapshot at `at` compares each computed sample with the interval containing `at`: an equal
value (on the line) writes nothing; a changed, new or vanished series closes its interval at `at` and
opens one from `at`. A snapshot written between two stored ones (a backfill) ends its intervals at the
next stored snapshot, and an interval it cut resumes there, so every other stored snapshot reads what
it read before. Writers take one lock, so the live aggregator and a backfill never interleave.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from trustline.shared.sql import Query, execute, fetch, fetchrow, fetchval

from .samples import Sample

_WRITE_LOCK = 0x7472_7573_7450  # one history writer at a time (live leader, backfill, aggregate --once)
_LOCK = Query("SELECT pg_advisory_xact_lock(:lock)")
_MICROSECOND = timedelta(microseconds=1)
# A recomputed value on the stored line within this much is unchanged (sums of floats differ in the
# last bits from one evaluation to the next).
_REL_TOL = 1e-12
_ABS_TOL = 1e-6

SeriesKey = tuple[str, str]  # (family name, labels as sorted JSON)


def series_key(name: str, labels: Mapping[str, str]) -> SeriesKey:
    """How a series is named in the history: its family and its labels as canonical JSON."""
    return name, json.dumps(dict(labels), sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Interval:
    """One stored interval of a series: the value at `valid_from` and how it moves per second after."""

    series_id: int
    valid_from: datetime
    valid_to: datetime | None
    value: float
    slope: float

    def at(self, when: datetime) -> float:
        """The value at `when`, in exact decimal arithmetic (a stored 86400.0 reads back 86400.0)."""
        if self.slope == 0:
            return self.value
        micros = (when - self.valid_from) // _MICROSECOND
        return float(Decimal(repr(self.value)) + Decimal(repr(self.slope)) * Decimal(micros) / 1_000_000)

    def carries(self, sample: Sample, when: datetime) -> bool:
        """Whether this interval already says `sample` at `when` (same line, so nothing to write)."""
        return self.slope == sample.slope and math.isclose(
            self.at(when), sample.value, rel_tol=_REL_TOL, abs_tol=_ABS_TOL
        )


_NEXT = Query("SELECT min(at) FROM snapshots WHERE at > :at")
_REPLACE = Query("DELETE FROM snapshots WHERE at = :at")
_INSERT = Query(
    "INSERT INTO snapshots (at, computed_at, duration_seconds, samples, writer) "
    "VALUES (:at, :computed_at, :duration_seconds, :samples, :writer)"
)
# Every interval containing :at, with its series: the whole snapshot at :at in one GiST-indexed read.
_CONTAINING = Query("""
SELECT v.series_id, s.name, s.labels::text AS labels, v.valid_from, v.valid_to, v.value, v.slope
FROM metric_values v JOIN metric_series s ON s.id = v.series_id
WHERE tstzrange(v.valid_from, v.valid_to) @> :at::timestamptz
""")
_SERIES_IDS = Query("""
WITH wanted AS (SELECT * FROM unnest(:names::text[], :labels::jsonb[]) AS w(name, labels)),
added AS (
    INSERT INTO metric_series (name, labels) SELECT name, labels FROM wanted
    ON CONFLICT (name, labels) DO NOTHING RETURNING id, name, labels
)
SELECT id, name, labels::text AS labels FROM added
UNION ALL
SELECT s.id, s.name, s.labels::text FROM metric_series s JOIN wanted w USING (name, labels)
""")
_CLOSE = Query("""
UPDATE metric_values v SET valid_to = :at
FROM unnest(:series_ids::int[], :valid_froms::timestamptz[]) AS c(series_id, valid_from)
WHERE v.series_id = c.series_id AND v.valid_from = c.valid_from
""")
_DROP = Query("""
DELETE FROM metric_values v
USING unnest(:series_ids::int[], :valid_froms::timestamptz[]) AS c(series_id, valid_from)
WHERE v.series_id = c.series_id AND v.valid_from = c.valid_from
""")
_VALUE_COLUMNS = ("series_id", "valid_from", "valid_to", "value", "slope")
_Record = tuple[int, datetime, datetime | None, float, float]


@dataclass
class _Changes:
    """What one snapshot write does to the intervals."""

    close: list[Interval]  # end at the snapshot's instant
    drop: list[Interval]  # started at that very instant: replaced
    insert: list[tuple[int | None, SeriesKey, datetime, datetime | None, float, float]]


def plan(
    current: Mapping[SeriesKey, Interval],
    samples: Iterable[Sample],
    *,
    at: datetime,
    next_at: datetime | None,
) -> _Changes:
    """Which intervals a snapshot at `at` closes, replaces and opens (pure: the write's whole logic)."""
    changes = _Changes([], [], [])
    wanted = {series_key(s.name, s.labels): s for s in samples}
    for key in current.keys() | wanted.keys():
        now, sample = current.get(key), wanted.get(key)
        if now is not None and sample is not None and now.carries(sample, at):
            continue
        if now is not None:
            (changes.drop if now.valid_from == at else changes.close).append(now)
            # A backfill inside `now`: from the next stored snapshot on, the series reads as before.
            if next_at is not None and (now.valid_to is None or now.valid_to > next_at):
                changes.insert.append((now.series_id, key, next_at, now.valid_to, now.at(next_at), now.slope))
        if sample is not None:
            changes.insert.append((None, key, at, next_at, sample.value, sample.slope))
    return changes


def _keys(intervals: list[Interval]) -> dict[str, list[object]]:
    return {
        "series_ids": [i.series_id for i in intervals],
        "valid_froms": [i.valid_from for i in intervals],
    }


async def _containing(conn: asyncpg.Connection, at: datetime) -> dict[SeriesKey, Interval]:
    rows = await fetch(conn, _CONTAINING, at=at)
    return {
        (r["name"], _canonical(r["labels"])): Interval(
            r["series_id"], r["valid_from"], r["valid_to"], r["value"], r["slope"]
        )
        for r in rows
    }


def _canonical(labels: str) -> str:
    return json.dumps(json.loads(labels), sort_keys=True, separators=(",", ":"))


async def _series_ids(conn: asyncpg.Connection, keys: set[SeriesKey]) -> dict[SeriesKey, int]:
    if not keys:
        return {}
    ordered = sorted(keys)
    rows = await fetch(conn, _SERIES_IDS, names=[k[0] for k in ordered], labels=[k[1] for k in ordered])
    return {(r["name"], _canonical(r["labels"])): r["id"] for r in rows}


async def write_snapshot(
    conn: asyncpg.Connection, *, at: datetime, samples: list[Sample], seconds: float, writer: str
) -> None:
    """Store one snapshot (its marker, and the intervals its changes open or close); replaces an
    earlier snapshot at the same instant."""
    async with conn.transaction():
        await execute(conn, _LOCK, lock=_WRITE_LOCK)
        next_at: datetime | None = await fetchval(conn, _NEXT, at=at)
        current = await _containing(conn, at)
        changes = plan(current, samples, at=at, next_at=next_at)
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
        if changes.drop:
            await execute(conn, _DROP, **_keys(changes.drop))
        if changes.close:
            await execute(conn, _CLOSE, at=at, **_keys(changes.close))
        ids = await _series_ids(conn, {key for sid, key, *_ in changes.insert if sid is None})
        records = [
            (sid if sid is not None else ids[key], start, end, value, slope)
            for sid, key, start, end, value, slope in changes.insert
        ]
        if next_at is not None:
            records = await _clipped(conn, records, at=at, next_at=next_at)
        if records:
            await conn.copy_records_to_table("metric_values", records=records, columns=_VALUE_COLUMNS)
        await execute(conn, _NOTIFY, channel=SNAPSHOT_CHANNEL, at=at.isoformat())  # delivered at commit


# Series whose next interval starts between two stored snapshots: one that started at a snapshot since
# downsampled away.
_STARTS_BETWEEN = Query("""
SELECT series_id, min(valid_from) AS start FROM metric_values
WHERE valid_from > :at AND valid_from < :next_at GROUP BY series_id
""")


async def _clipped(
    conn: asyncpg.Connection, records: list[_Record], *, at: datetime, next_at: datetime
) -> list[_Record]:
    """Intervals opened at `at` end where the series' next interval starts, so none overlap."""
    starts = {r["series_id"]: r["start"] for r in await fetch(conn, _STARTS_BETWEEN, at=at, next_at=next_at)}
    return [
        (sid, start, starts.get(sid, end) if start == at else end, value, slope)
        for sid, start, end, value, slope in records
    ]


# Whoever serves the newest snapshot (the API) listens here, so it need not wait for its next poll.
SNAPSHOT_CHANNEL = "trustline_snapshot"
_NOTIFY = Query("SELECT pg_notify(:channel, :at)")
_LATEST = Query("SELECT max(at) FROM snapshots")


async def latest_at(conn: asyncpg.Connection) -> datetime | None:
    """The instant of the newest stored snapshot, or None when there is none."""
    at: datetime | None = await fetchval(conn, _LATEST)
    return at


_EXISTS = Query("SELECT EXISTS (SELECT 1 FROM snapshots WHERE at = :at)")


async def exists(conn: asyncpg.Connection, at: datetime) -> bool:
    """Whether a snapshot is stored at exactly `at`."""
    return bool(await fetchval(conn, _EXISTS, at=at))


async def samples_at(conn: asyncpg.Connection, at: datetime) -> list[Sample]:
    """The samples of the snapshot stored at `at` (none when there is no such snapshot)."""
    if not await exists(conn, at):
        return []
    rows = await fetch(conn, _CONTAINING, at=at)
    return [sample_of(r, at) for r in rows]


def sample_of(row: Mapping[str, object], at: datetime) -> Sample:
    """The sample a stored interval row (name, labels, valid_from, value, slope) gives at `at`."""
    interval = Interval(0, row["valid_from"], None, row["value"], row["slope"])  # type: ignore[arg-type]
    return Sample(str(row["name"]), dict(_labels(str(row["labels"]))), interval.at(at), interval.slope)


@functools.lru_cache(maxsize=1 << 16)
def _labels(text: str) -> dict[str, str]:
    """Labels parsed once per distinct text (a history read meets each series at every point)."""
    parsed: dict[str, str] = json.loads(text)
    return parsed


async def latest_snapshot(conn: asyncpg.Connection) -> tuple[datetime, list[Sample]] | None:
    """The newest stored snapshot with its samples, or None when there is none."""
    at = await latest_at(conn)
    return None if at is None else (at, await samples_at(conn, at))


# Snapshots past retention, and all but the first of each hour before the full-resolution horizon; how
# many went and the oldest of them.
_REMOVE = Query("""
WITH gone AS (
    DELETE FROM snapshots s
    WHERE s.at < :retained_from
       OR (s.at < :before AND EXISTS (SELECT 1 FROM snapshots o
                                      WHERE o.at < s.at AND o.at >= date_trunc('hour', s.at)))
    RETURNING s.at
)
SELECT count(*) AS removed, min(at) AS oldest FROM gone
""")
# Intervals that no kept snapshot reads any more: they held a removed snapshot (so they end after the
# oldest removed one, or are open) and hold no stored instant now.
_UNREAD = Query("""
DELETE FROM metric_values v
WHERE (v.valid_to IS NULL OR (v.valid_to > :since AND v.valid_to <= :before))
  AND NOT EXISTS (SELECT 1 FROM snapshots s
                  WHERE s.at >= v.valid_from AND (v.valid_to IS NULL OR s.at < v.valid_to))
""")
_UNNAMED = Query(
    "DELETE FROM metric_series s WHERE NOT EXISTS (SELECT 1 FROM metric_values v WHERE v.series_id = s.id)"
)


async def prune(
    conn: asyncpg.Connection, *, now: datetime, full_resolution: timedelta, retention: timedelta
) -> int:
    """One snapshot per hour beyond `full_resolution`, none beyond `retention`; returns how many went.

    The intervals only those snapshots read go with them; every kept snapshot reads what it read."""
    horizon = max(now - full_resolution, now - retention)
    async with conn.transaction():
        await execute(conn, _LOCK, lock=_WRITE_LOCK)
        gone = await fetchrow(conn, _REMOVE, retained_from=now - retention, before=horizon)
        if gone is not None and gone["removed"]:
            await execute(conn, _UNREAD, since=gone["oldest"], before=horizon)
            await execute(conn, _UNNAMED)
    return int(gone["removed"]) if gone is not None else 0
