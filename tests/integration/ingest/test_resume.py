"""The real store resumes every fold from the rows valid just before the earliest new event: whatever the
order, repeats and batches, the stored state is the fold of all the stored events (computed in memory).

Vulnerability cycles and MFA factors carry the cases a resume can get wrong: a late event inside an
old cycle, a remediation before a detection, several events at one instant, a factor removed and
re-enrolled out of order. tests/unit/ingest/test_resume.py checks the same against an in-memory model.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import truncate_all
from tests.scenario import H, T, decode, ev, load
from trustline.ingest.domains import DOMAINS
from trustline.ingest.folds.core import StoredEvent
from trustline.ingest.folds.protocol import fold_all
from trustline.shared.events.schemas import KEY_SEP
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
Rows = dict[str, list[tuple[Any, ...]]]
TABLES = [t for d in DOMAINS.values() for t in d.tables]


def the_fold(events: list[dict[str, Any]]) -> Rows:
    """Every table's rows as the full fold of the distinct events (the first delivery of each wins)."""
    by_key: dict[tuple[str, str], list[StoredEvent]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for e in decode(events):
        if (e.source, e.id) not in seen:
            seen.add((e.source, e.id))
            by_key[e.domain_key].append(StoredEvent(e.time, e.source, e.id, e.type, e.data))
    out: Rows = {t.name: [] for t in TABLES}
    for (domain, key), evs in by_key.items():
        for fold in DOMAINS[domain].folds:
            out[fold.table.name] += fold_all(fold, key.split(KEY_SEP), evs)
    return {name: sorted(rows) for name, rows in out.items()}


def stored(stack: Settings, batches: list[list[dict[str, Any]]]) -> Rows:
    """Empty the tables (as the schema owner), store the batches in order, return every table's rows."""

    async def main() -> Rows:
        await truncate_all(stack.migration_asyncpg_dsn())
        conn = await asyncpg.connect(stack.asyncpg_dsn())
        try:
            for batch in batches:
                await load(conn, batch)
            return {
                t.name: sorted(
                    tuple(r) for r in await conn.fetch(f"SELECT {', '.join(t.columns)} FROM {t.name}")
                )
                for t in TABLES
            }
        finally:
            await conn.close()

    return asyncio.run(main())


V1, V2 = {"asset_id": "a", "vulnerability_id": "v1"}, {"asset_id": "a", "vulnerability_id": "v2"}
U = {"user_id": "u"}
FACTORS = [
    {"factor_type": "totp"},
    {"factor_type": "fido2", "factor_id": "k1"},
    {"factor_type": "push", "factor_id": "k1"},
]


@st.composite
def one_event(draw: st.DrawFn) -> dict[str, Any]:
    at = T + draw(st.integers(0, 8)) * H  # few instants: ties are common
    source = draw(st.sampled_from(["s1", "s2"]))
    kind = draw(st.sampled_from(["detected", "remediated", "observed", "deactivated", "enrolled", "removed"]))
    if kind in ("detected", "remediated"):
        pair = draw(st.sampled_from([V1, V2]))
        if kind == "remediated":
            return ev("vulnerability.remediated", at, source, **pair)
        sev = draw(st.sampled_from(["high", "low"]))
        return ev("vulnerability.detected", at, source, **pair, severity=sev, kev=draw(st.booleans()))
    if kind in ("observed", "deactivated"):
        return ev(
            f"identity.{kind}", at, source, **U, **({"privileged": True} if draw(st.booleans()) else {})
        )
    return ev(f"mfa.{kind}", at, source, **U, **draw(st.sampled_from(FACTORS)))


@st.composite
def deliveries(draw: st.DrawFn) -> list[list[dict[str, Any]]]:
    """Events in any order, some delivered twice, cut into batches anywhere."""
    events = draw(st.lists(one_event(), min_size=1, max_size=16))
    stream = draw(st.permutations(events + draw(st.lists(st.sampled_from(events), max_size=4))))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(stream) - 1)), max_size=6)))
    bounds = [0, *cuts, len(stream)]
    return [stream[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if stream[a:b]]


def _late_events() -> list[list[dict[str, Any]]]:
    """Named edges, each delivered after the rest: a detection inside an old cycle, then one inside the
    latest of two, a remediation before the first detection, a late remediation of the open cycle, a
    factor removed before its re-enrolment."""
    first = [
        ev("vulnerability.detected", T, **V1, severity="low"),
        ev("vulnerability.remediated", T + 4 * H, **V1),
        ev("vulnerability.detected", T + 6 * H, **V1, severity="low"),
        ev("vulnerability.detected", T + 2 * H, **V2, severity="low"),
        ev("vulnerability.detected", T + 5 * H, **V2, severity="high"),
        ev("identity.observed", T, **U),
        ev("mfa.enrolled", T + 5 * H, **U, factor_type="totp"),
    ]
    late = [
        ev("vulnerability.detected", T + 2 * H, **V1, severity="high"),
        ev("vulnerability.detected", T + 7 * H, **V1, severity="high"),  # in the second cycle: resume from it
        ev("vulnerability.remediated", T - H, **V2),
        ev("vulnerability.remediated", T + 3 * H, **V2),
        ev("mfa.removed", T + 3 * H, **U, factor_type="totp"),
    ]
    return [first, *[[e] for e in late]]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=deliveries())
@example(batches=_late_events())
def test_stored_state_is_the_fold_of_the_stored_events(
    stack: Settings, batches: list[list[dict[str, Any]]]
) -> None:
    assert stored(stack, batches) == the_fold([e for b in batches for e in b])
