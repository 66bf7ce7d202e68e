"""KPIs as of the latest snapshot or any instant, and their history from stored snapshots."""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from trustline.shared.metrics import store
from trustline.shared.metrics.samples import WINDOWS, Sample, Window
from trustline.shared.metrics.snapshot import compute_snapshot, set_work_mem
from trustline.shared.metrics.sql import as_of
from trustline.shared.policy import Policy
from trustline.shared.severity import SLA_SEVERITIES
from trustline.shared.sql import Query, fetch
from trustline.shared.types import EARLIEST

from .derive import Percentiles, kpis_from_samples
from .schemas import History, HistoryPoint, Kpis, Source

MAX_POINTS = 1000
MAX_STEP_SECONDS = 366 * 86400
DEFAULT_SPAN = timedelta(days=90)
_STEP = re.compile(r"^([0-9]{1,9})([smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

# Exact percentiles over the same cycles as time_to_patch_seconds: closed in (T - W, T], SLA severities.
PERCENTILES_SQL = Query(f"""
SELECT c.severity,
       percentile_cont(ARRAY[0.5, 0.9]::float8[])
           WITHIN GROUP (ORDER BY date_part('epoch', c.remediated_at - c.detected_at)) AS p
FROM vuln_cycle_versions c
WHERE c.remediated_at <= :at
  AND c.remediated_at > :at::timestamptz - make_interval(secs => :window_length::float8)
  AND {as_of("c")} AND c.severity = ANY(:severities::text[])
GROUP BY c.severity
""")

# The families the KPIs read (histogram buckets are not needed, and are most of a snapshot's rows).
KPI_FAMILIES = (
    "trustline_edr_assets_expected",
    "trustline_edr_assets_covered",
    "trustline_edr_unknown_assets",
    "trustline_identities",
    "trustline_identities_mfa",
    "trustline_cloud_config_checks",
    "trustline_patch_remediations",
    "trustline_time_to_patch_seconds_sum",
    "trustline_time_to_patch_seconds_count",
    "trustline_vulnerabilities_open",
    "trustline_security_debt_seconds",
    "trustline_incident_duration_seconds_sum",
    "trustline_incident_duration_seconds_count",
    "trustline_incidents_open",
    "trustline_risk_acceptances",
    "trustline_risk_acceptances_expiring_7d",
)

# For each step, the newest stored snapshot within (t - step, t], with the stored intervals of the
# :families named that contain it (store.sample_of gives each one's value there).
HISTORY_SQL = Query("""
WITH points AS (
    SELECT t
    FROM generate_series(:start::timestamptz, :end::timestamptz, make_interval(secs => :step::float8)) AS t
),
chosen AS MATERIALIZED (
    SELECT p.t, (SELECT max(s.at) FROM snapshots s
                 WHERE s.at <= p.t AND s.at > p.t - make_interval(secs => :step::float8)) AS at
    FROM points p
),
wanted AS MATERIALIZED (SELECT id, name, labels FROM metric_series WHERE name = ANY(:families::text[]))
SELECT c.t, c.at, m.name, m.labels::text AS labels, m.valid_from, m.value, m.slope
FROM chosen c LEFT JOIN LATERAL (
    SELECT w.name, w.labels, v.valid_from, v.value, v.slope
    FROM metric_values v JOIN wanted w ON w.id = v.series_id
    WHERE tstzrange(v.valid_from, v.valid_to) @> c.at
) m ON true
ORDER BY c.t
""")


class KpiError(ValueError):
    """A request the KPIs cannot answer as asked (answered as 422)."""


class Busy(Exception):
    """Another past instant is being evaluated by this process (answered as 429 with Retry-After)."""


@dataclass(frozen=True, slots=True)
class Span:
    """A history range: one point every `step` seconds from `start` to `end`, both included."""

    start: datetime
    end: datetime
    step: int


def parse_step(text: str) -> int:
    """Seconds in a step written as `900`, `15m`, `6h` or `1d` (at most 366 days)."""
    m = _STEP.match(text.strip())
    seconds = int(m.group(1)) * _UNIT_SECONDS[m.group(2)] if m is not None else 0
    if not 0 < seconds <= MAX_STEP_SECONDS:
        raise KpiError(f"step {text[:20]!r} is not a duration from 1s to 366d such as 15m, 6h or 1d")
    return seconds


def history_span(*, start: datetime | None, end: datetime | None, step: str, now: datetime) -> Span:
    """The range asked for, with its defaults (to: now, from: 90 days earlier), checked."""
    seconds = parse_step(step)
    end = end or now
    start = start or max(end - DEFAULT_SPAN, EARLIEST)
    if end < start:
        raise KpiError("`from` must not be after `to`")
    if (end - start) // timedelta(seconds=seconds) + 1 > MAX_POINTS:
        raise KpiError(f"at most {MAX_POINTS} points: widen the step or shorten the range")
    return Span(start, end, seconds)


async def exact_percentiles(*, conn: asyncpg.Connection, at: datetime, window: Window) -> Percentiles:
    """Exact p50 and p90 time to patch per severity over the window."""
    rows = await fetch(
        conn, PERCENTILES_SQL, at=at, window_length=float(WINDOWS[window]), severities=list(SLA_SEVERITIES)
    )
    return {r["severity"]: (r["p"][0], r["p"][1]) for r in rows}


async def _stored(conn: asyncpg.Connection, at: datetime) -> list[Sample] | None:
    return await store.samples_at(conn, at) if await store.exists(conn, at) else None


async def kpis(
    *,
    conn: asyncpg.Connection,
    at: datetime | None,
    window: Window,
    policy: Policy,
    max_business_units: int,
    compute_slot: asyncio.Semaphore,
) -> Kpis:
    """KPIs of the latest stored snapshot, or as of `at` (a stored snapshot there, else computed)."""
    now = datetime.now(UTC)
    if at is not None and at > now + timedelta(minutes=5):
        raise KpiError("`at` is in the future: only events up to now are known")
    samples: list[Sample] | None = None
    if at is None:
        latest = await store.latest_snapshot(conn)
        at, samples = latest if latest is not None else (now, None)
    else:
        samples = await _stored(conn, at)
    source: Source = "stored" if samples is not None else "computed"
    if samples is None and compute_slot.locked():
        # A computed instant costs a full snapshot: one at a time per process keeps the API responsive.
        raise Busy("another instant is being evaluated; retry shortly, or ask for a stored snapshot's time")
    slot: AbstractAsyncContextManager[Any] = compute_slot if samples is None else nullcontext()
    async with slot, conn.transaction(isolation="repeatable_read", readonly=True):
        if samples is None:
            await set_work_mem(conn)
            samples = await compute_snapshot(
                conn, at=at, policy=policy, max_business_units=max_business_units
            )
        exact = await exact_percentiles(conn=conn, at=at, window=window)
    return kpis_from_samples(samples, at=at, source=source, window=window, policy=policy, exact=exact)


async def history(*, conn: asyncpg.Connection, span: Span, window: Window, policy: Policy) -> History:
    """One KPI point per step from the stored snapshots (none stored in a step: a null point)."""
    grouped: dict[datetime, tuple[datetime | None, list[Sample]]] = defaultdict(lambda: (None, []))
    rows = await fetch(
        conn,
        HISTORY_SQL,
        start=span.start,
        end=span.end,
        step=float(span.step),
        families=list(KPI_FAMILIES),
    )
    for r in rows:
        snap, samples = grouped[r["t"]]
        if r["name"] is not None:
            samples.append(store.sample_of(r, r["at"]))
        grouped[r["t"]] = (r["at"], samples)
    points = [
        HistoryPoint(
            at=t,
            snapshot_at=snap,
            kpis=None
            if snap is None
            else kpis_from_samples(samples, at=snap, source="stored", window=window, policy=policy, exact={}),
        )
        for t, (snap, samples) in grouped.items()
    ]
    return History(start=span.start, end=span.end, step_seconds=span.step, window=window, points=points)
