"""The history stores change: every stored snapshot reads back what was written at its instant, whatever
the order of writes (live, backfill between stored snapshots, a rewrite of the same instant) and the
pruning in between; a quiet estate writes nothing but its snapshot markers.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import truncate_all
from tests.scenario import D, H, T, ev, load
from trustline.shared.metrics.samples import Sample
from trustline.shared.metrics.snapshot import Caps, compute_snapshot, store_snapshot
from trustline.shared.metrics.store import prune, samples_at, series_key, write_snapshot
from trustline.shared.policy import Policy
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
M = H / 60
STEP = 7 * M + timedelta(microseconds=13)  # odd microseconds: the lines' arithmetic must stay exact
INSTANTS = [T - 20 * D + i * STEP for i in range(10)]
T0 = INSTANTS[0]
BASES = (T0 - H, T0 - 2 * H)


@dataclass(frozen=True)
class Write:
    """One snapshot write: at INSTANTS[at], with these series (None: absent) in these shapes."""

    at: int
    incidents: tuple[int | None, int | None]  # two counts (slope 0)
    oldest: int | None  # which base the age counts from (slope 1), or absent
    debt: tuple[int, int] | None  # (intercept, slope) of a debt line, or absent

    def samples(self) -> list[Sample]:
        t = INSTANTS[self.at]
        out = [
            Sample("trustline_incidents_open", {"severity": severity}, float(n))
            for severity, n in zip(("high", "low"), self.incidents, strict=True)
            if n is not None
        ]
        labels = {"business_unit": "retail", "severity": "high"}
        if self.oldest is not None:
            age = (t - BASES[self.oldest]).total_seconds()
            out.append(Sample("trustline_vulnerability_oldest_open_age_seconds", labels, age, slope=1.0))
        if self.debt is not None:
            intercept, slope = self.debt
            debt = intercept + slope * (t - T0).total_seconds()
            out.append(Sample("trustline_security_debt_seconds", labels, debt, slope=float(slope)))
        out.append(Sample("trustline_snapshot_timestamp_seconds", {}, t.timestamp(), slope=1.0))
        return out


@dataclass(frozen=True)
class Prune:
    """Downsample to one snapshot an hour before `now - hours` (none of INSTANTS is past retention)."""

    hours: int


writes = st.builds(
    Write,
    at=st.integers(0, len(INSTANTS) - 1),
    incidents=st.tuples(st.sampled_from([None, 0, 1, 2]), st.sampled_from([None, 0, 3])),
    oldest=st.sampled_from([None, 0, 1]),
    debt=st.sampled_from([None, (0, 0), (0, 1), (100, 1), (0, 3)]),
)
operations = st.lists(
    st.one_of(writes, writes, writes, st.builds(Prune, st.sampled_from([0, 1]))), max_size=14
)


def _by_key(samples: list[Sample]) -> dict[tuple[str, str], float]:
    return {series_key(s.name, s.labels): s.value for s in samples}


async def _replay(stack: Settings, ops: list[Write | Prune]) -> None:
    await truncate_all(stack.migration_asyncpg_dsn())
    conn = await asyncpg.connect(stack.asyncpg_dsn())
    try:
        expected: dict[datetime, dict[tuple[str, str], float]] = {}
        for op in ops:
            if isinstance(op, Write):
                samples = op.samples()
                await write_snapshot(conn, at=INSTANTS[op.at], samples=samples, seconds=0.0, writer="test")
                expected[INSTANTS[op.at]] = _by_key(samples)
            else:
                now = INSTANTS[-1] + timedelta(hours=op.hours)
                await prune(conn, now=now, full_resolution=timedelta(hours=op.hours), retention=400 * D)
                kept = {r["at"] for r in await conn.fetch("SELECT at FROM snapshots")}
                expected = {at: v for at, v in expected.items() if at in kept}
            stored = {r["at"] for r in await conn.fetch("SELECT at FROM snapshots")}
            assert stored == set(expected)
            for at, want in expected.items():
                got = _by_key(await samples_at(conn, at))
                assert got.keys() == want.keys(), (op, at)
                for key, value in want.items():
                    assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-6), (op, at, key)
    finally:
        await conn.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
@example(  # a backfill inside a line, then a rewrite of the same instant, then a live write on the line
    ops=[
        Write(0, (1, 0), 0, (0, 1)),
        Write(5, (1, 0), 0, (0, 1)),
        Write(2, (2, None), 1, (100, 1)),
        Write(2, (1, 0), 0, (0, 1)),
        Write(9, (1, 0), 0, (0, 1)),
    ]
)
@example(  # a line starting at a snapshot downsampled away, then two backfills before and after its start
    ops=[
        Write(0, (1, 1), 0, (0, 0)),
        Write(4, (1, 1), 0, (100, 1)),
        Write(9, (1, 1), 0, (100, 1)),
        Prune(0),
        Write(2, (1, 1), 0, (0, 3)),
        Write(6, (1, 1), 0, (0, 1)),
    ]
)
def test_every_stored_snapshot_reads_what_was_written_at_its_instant(
    stack: Settings, ops: list[Write | Prune]
) -> None:
    asyncio.run(_replay(stack, ops))


async def test_a_quiet_estate_writes_only_snapshot_markers(clean: Settings, db: asyncpg.Connection) -> None:
    # Breached findings (their debt grows by a second per second each), an open incident, assets, an
    # identity: values that move with the clock alone, and counts that do not move at all.
    await load(
        db,
        [
            ev("asset.observed", T - 40 * D, asset_id="h1", business_unit="retail", edr_required=True),
            ev(
                "vulnerability.detected",
                T - 20 * D,
                asset_id="h1",
                vulnerability_id="v1",
                severity="critical",
            ),
            ev(
                "vulnerability.detected", T - 9 * D, asset_id="h1", vulnerability_id="v2", severity="critical"
            ),
            ev("vulnerability.detected", T - 2 * D, asset_id="h1", vulnerability_id="v3", severity="high"),
            ev("incident.opened", T - 3 * H, incident_id="i1", severity="high"),
        ],
    )
    policy, caps = Policy(), Caps()
    instants = [T + i * 5 * timedelta(seconds=1) for i in range(30)]
    await store_snapshot(db, at=instants[0], policy=policy, caps=caps, writer="test")
    first = await db.fetchval("SELECT count(*) FROM metric_values")
    series = await db.fetchval("SELECT count(*) FROM metric_series")
    for at in instants[1:]:
        await store_snapshot(db, at=at, policy=policy, caps=caps, writer="test")
    # 30 snapshot markers, and not one interval or series more than the first snapshot wrote.
    assert await db.fetchval("SELECT count(*) FROM snapshots") == 30
    assert await db.fetchval("SELECT count(*) FROM metric_values") == first
    assert await db.fetchval("SELECT count(*) FROM metric_series") == series
    # Each stored snapshot reads what the as-of computation gives at its instant: at the last one,
    # v1 and v2 are 20 d and 9 d old with a 7 d SLA: debt 13 d + 2 d = 15 d + 2 x 145 s.
    for at in (instants[0], instants[17], instants[-1]):
        computed = _by_key(await compute_snapshot(db, at=at, policy=policy, max_business_units=50))
        stored = _by_key(await samples_at(db, at))
        assert stored.keys() == computed.keys()
        assert all(stored[k] == pytest.approx(v, rel=1e-12, abs=1e-6) for k, v in computed.items())
    debt = series_key("trustline_security_debt_seconds", {"business_unit": "retail", "severity": "critical"})
    assert _by_key(await samples_at(db, instants[-1]))[debt] == 15 * 86400 + 2 * 145
