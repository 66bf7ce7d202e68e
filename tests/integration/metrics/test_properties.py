"""Properties over the real store: arrival order, duplicates and batching never change state or snapshots,
and a snapshot at T ignores everything after T."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import truncate_all
from tests.scenario import D, H, T, ev, load, snapshot
from trustline.ingest.domains import DOMAINS
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration

SCENARIO = [
    ev("asset.observed", T - 50 * D, asset_id="a1", business_unit="retail", kind="server", os_family="linux"),
    ev("asset.observed", T - 20 * D, asset_id="a1", business_unit="payments", kind="server", os_family="linux"),
    ev("asset.observed", T - 5 * D, asset_id="a2", business_unit="retail", kind="endpoint", os_family="macos"),
    ev("asset.retired", T - 2 * D, asset_id="a2"),
    ev("vulnerability.detected", T - 40 * D, asset_id="a1", vulnerability_id="v1", severity="high"),
    ev("vulnerability.detected", T - 30 * D, asset_id="a1", vulnerability_id="v1", severity="critical"),
    ev("vulnerability.remediated", T - 25 * D, asset_id="a1", vulnerability_id="v1"),
    ev("vulnerability.detected", T - 10 * D, asset_id="a1", vulnerability_id="v1", severity="low"),
    # Resume edges when they arrive late: a detection inside the closed first cycle, a remediation before it.
    ev("vulnerability.detected", T - 27 * D, asset_id="a1", vulnerability_id="v1", severity="medium"),
    ev("vulnerability.remediated", T - 45 * D, asset_id="a1", vulnerability_id="v1"),
    ev("vulnerability.detected", T - 3 * D, asset_id="a2", vulnerability_id="v2", severity="medium"),
    ev("vulnerability.remediated", T - 60 * D, asset_id="a1", vulnerability_id="v3"),
    ev("edr.heartbeat", T - 2 * H, asset_id="a1"),
    ev("edr.heartbeat", T - H, asset_id="a1", healthy=False),
    ev("edr.heartbeat", T - 3 * H, asset_id="ghost"),
    ev("edr.uninstalled", T - 4 * H, asset_id="ghost"),
    ev("identity.observed", T - 9 * D, user_id="u1", privileged=True, business_unit="retail"),
    ev("mfa.enrolled", T - 8 * D, user_id="u1", factor_type="totp"),
    ev("mfa.enrolled", T - 7 * D, user_id="u1", factor_type="fido2", factor_id="k"),
    ev("mfa.removed", T - 6 * D, user_id="u1", factor_type="fido2", factor_id="k"),
    ev("mfa.enrolled", T - 4 * D, user_id="u1", factor_type="fido2", factor_id="k"),  # re-enrolled
    ev("identity.observed", T - 9 * D, user_id="u2", business_unit="payments"),
    ev("identity.deactivated", T - D, user_id="u2"),
    ev("cloud.evaluated", T - 3 * D, resource_id="r", control_id="c", status="fail", severity="high", provider="aws"),
    ev("cloud.evaluated", T - D, resource_id="r", control_id="c", status="pass", severity="high", provider="aws"),
    ev("cloud.evaluated", T - D, resource_id="r2", control_id="c", status="fail", severity="low", provider="gcp"),
    ev("incident.opened", T - 5 * H, incident_id="i", severity="medium"),
    ev("incident.acknowledged", T - 4 * H, incident_id="i", severity="high"),
    ev("incident.resolved", T - H, incident_id="i"),
    ev("incident.acknowledged", T - 2 * H, incident_id="j"),
    ev("incident.opened", T - H, incident_id="j", severity="critical"),
]  # fmt: skip
# Events after T: they change the present, never the snapshot at T.
LATER = [
    ev("vulnerability.remediated", T + H, asset_id="a1", vulnerability_id="v1"),
    ev("asset.observed", T + H, asset_id="a1", business_unit="data", kind="server", os_family="linux"),
    ev("edr.heartbeat", T + H, asset_id="a1"),
    ev("mfa.enrolled", T + H, user_id="u1", factor_type="webauthn"),
    ev("cloud.evaluated", T + H, resource_id="r2", control_id="c", status="pass", severity="low", provider="gcp"),
    ev("incident.resolved", T + H, incident_id="j"),
    ev("identity.observed", T + H, user_id="u3", privileged=True),
]  # fmt: skip
STATE_TABLES = [t for d in DOMAINS.values() for t in d.tables]


async def _state(conn: asyncpg.Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {t.name: [tuple(r) for r in await conn.fetch(f"SELECT * FROM {t.name} ORDER BY {', '.join(t.columns)}")]
            for t in STATE_TABLES}  # fmt: skip


def run(
    stack: Settings, batches: list[list[dict[str, Any]]]
) -> tuple[dict[str, list[tuple[Any, ...]]], dict[Any, float]]:
    """Truncate (as the schema owner), store the batches in order, and return (state, snapshot at T)."""

    async def main() -> tuple[dict[str, list[tuple[Any, ...]]], dict[Any, float]]:
        await truncate_all(stack.migration_asyncpg_dsn())
        conn = await asyncpg.connect(stack.asyncpg_dsn())
        try:
            for batch in batches:
                await load(conn, batch)
            return await _state(conn), await snapshot(conn)
        finally:
            await conn.close()

    return asyncio.run(main())


@st.composite
def deliveries(draw: st.DrawFn, extra: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The scenario (plus `extra`) in any order, with repeats, cut into batches anywhere."""
    events = draw(st.permutations(SCENARIO + extra))
    repeats = draw(st.lists(st.sampled_from(SCENARIO), max_size=8))
    stream = draw(st.permutations(events + repeats))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(stream) - 1)), max_size=5)))
    bounds = [0, *cuts, len(stream)]
    return [stream[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if stream[a:b]]


_reference: dict[str, Any] = {}


def reference(stack: Settings) -> tuple[dict[str, list[tuple[Any, ...]]], dict[Any, float]]:
    if "ref" not in _reference:
        _reference["ref"] = run(stack, [sorted(SCENARIO, key=lambda e: e["time"])])
    return _reference["ref"]  # type: ignore[no-any-return]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=deliveries([]))
def test_order_duplicates_and_batching_change_nothing(
    stack: Settings, batches: list[list[dict[str, Any]]]
) -> None:
    state, snap = run(stack, batches)
    ref_state, ref_snap = reference(stack)
    assert all(ref_state.values()), "every state table has rows, so the comparison covers them all"
    assert state == ref_state
    assert snap == ref_snap


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=deliveries(LATER))
def test_a_snapshot_at_t_ignores_events_after_t(stack: Settings, batches: list[list[dict[str, Any]]]) -> None:
    _, snap = run(stack, batches)
    assert snap == reference(stack)[1]
    assert len(snap) > 40  # every family is represented, so the comparison covers them all
