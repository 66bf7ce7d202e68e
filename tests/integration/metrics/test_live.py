"""The live snapshot equals the as-of computation at the same instant, whatever happened in between.

Random event streams over every domain (late, out of order, up to a day ahead), risk acceptances
approved, revoked and expiring, and instants moving forward near now, with and without new events between
two snapshots: every sample the live state gives equals `compute_snapshot` at that instant, read in the
same transaction. The examples pin each transition that happens with no event at all, to the microsecond.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import truncate_all
from tests.scenario import D, H, T, ev, load
from trustline.shared.metrics import changes
from trustline.shared.metrics.live import Live, LiveState, evaluate_live
from trustline.shared.metrics.samples import Sample
from trustline.shared.metrics.snapshot import Caps, compute_snapshot
from trustline.shared.metrics.store import samples_at
from trustline.shared.policy import Policy
from trustline.shared.settings import Settings
from trustline.shared.sql import Query, execute

pytestmark = pytest.mark.integration
S = timedelta(seconds=1)
US = timedelta(microseconds=1)
POLICY = Policy()
CAPS = Caps(business_units=50, sources=100)


@dataclass(frozen=True)
class Event:
    """An event `offset` from the instant of the step it arrives in (negative: late)."""

    type: str
    offset: timedelta
    data: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Accept:
    """A risk acceptance recorded in the step: on a vulnerability or a control, times relative to it."""

    vulnerability_id: str | None
    control_id: str | None
    severity: str
    approved: timedelta
    expires: timedelta
    asset_id: str | None = None


@dataclass(frozen=True)
class Revoke:
    """Revoke the n-th acceptance recorded so far (if any), `offset` from the step's instant."""

    n: int
    offset: timedelta


@dataclass(frozen=True)
class Step:
    """What arrives (at the current instant), then how far the clock moves before the next snapshot."""

    arrivals: tuple[Event | Accept | Revoke, ...]
    advance: timedelta


def e(type_: str, offset: timedelta, **data: Any) -> Event:
    return Event(type_, offset, tuple(sorted(data.items())))


ASSETS = ("a1", "a2", "ghost")
SEVERITY = st.sampled_from(("critical", "high", "medium", "low", "info"))
OFFSETS = st.one_of(
    st.sampled_from([-100 * D, -40 * D, -31 * D, -8 * D, -7 * D, -D, -2 * H, -S, timedelta(0), H, 23 * H]),
    st.integers(-100 * 86400, 86400).map(lambda s: s * S),
)
ADVANCES = st.one_of(
    st.sampled_from([timedelta(0), US, S, H, D, 6 * D, 7 * D, 30 * D, 31 * D, 91 * D]),
    st.integers(0, 40 * 86400).map(lambda s: s * S),
)
asset = st.sampled_from(ASSETS)
events = st.one_of(
    st.builds(lambda a, o, bu, k: e("asset.observed", o, asset_id=a, business_unit=bu, kind=k, os_family="linux"),
              asset, OFFSETS, st.sampled_from(["retail", "payments"]), st.sampled_from(["server", "network"])),
    st.builds(lambda a, o: e("asset.retired", o, asset_id=a), asset, OFFSETS),
    st.builds(lambda a, v, o, s: e("vulnerability.detected", o, asset_id=a, vulnerability_id=v, severity=s),
              asset, st.sampled_from(["v1", "v2"]), OFFSETS, SEVERITY),
    st.builds(lambda a, v, o: e("vulnerability.remediated", o, asset_id=a, vulnerability_id=v),
              asset, st.sampled_from(["v1", "v2"]), OFFSETS),
    st.builds(lambda a, o, h: e("edr.heartbeat", o, asset_id=a, healthy=h), asset, OFFSETS, st.booleans()),
    st.builds(lambda a, o: e("edr.uninstalled", o, asset_id=a), asset, OFFSETS),
    st.builds(lambda u, o, p: e("identity.observed", o, user_id=u, privileged=p, business_unit="retail"),
              st.sampled_from(["u1", "u2"]), OFFSETS, st.booleans()),
    st.builds(lambda u, o: e("identity.deactivated", o, user_id=u), st.sampled_from(["u1", "u2"]), OFFSETS),
    st.builds(lambda u, o, f, t: e(t, o, user_id=u, factor_type=f),
              st.sampled_from(["u1", "u2"]), OFFSETS, st.sampled_from(["totp", "fido2"]),
              st.sampled_from(["mfa.enrolled", "mfa.removed"])),
    st.builds(lambda r, c, o, s, v: e("cloud.evaluated", o, resource_id=r, control_id=c, status=s, severity=v,
                                      provider="aws"),
              st.sampled_from(["r1", "r2"]), st.sampled_from(["c1", "c2"]), OFFSETS,
              st.sampled_from(["pass", "fail", "muted"]), SEVERITY),
    st.builds(lambda i, o, t, s: e(f"incident.{t}", o, incident_id=i, severity=s),
              st.sampled_from(["i1", "i2"]), OFFSETS,
              st.sampled_from(["opened", "acknowledged", "contained", "restored", "resolved"]), SEVERITY),
)  # fmt: skip
acceptances = st.builds(
    Accept,
    vulnerability_id=st.sampled_from([None, "v1", "v2"]),
    control_id=st.sampled_from(["c1", "c2"]),
    severity=SEVERITY.filter(lambda s: s != "info"),
    approved=st.sampled_from([-D, -S, timedelta(0), H]),
    expires=st.sampled_from([S, H, D, 8 * D]),
    asset_id=st.sampled_from([None, "a1"]),
)
steps = st.lists(
    st.builds(
        Step,
        arrivals=st.lists(st.one_of(events, events, events, acceptances, st.builds(Revoke, st.integers(0, 3),
                                                                                    st.sampled_from([-S, H]))),
                          max_size=6).map(tuple),
        advance=ADVANCES,
    ),
    min_size=1,
    max_size=5,
)  # fmt: skip

_ACCEPT = Query(
    "INSERT INTO risk_acceptances (title, justification, vulnerability_id, asset_id, control_id, severity, "
    "business_owner, requested_by, approved_by, status, created_at, approved_at, expires_at) "
    "VALUES ('t', 'j', :vulnerability_id, :asset_id, :control_id, :severity, 'owner', 'alice', 'bob', "
    "'approved', :approved_at, :approved_at, :expires_at) RETURNING id"
)
_REVOKE = Query(
    "UPDATE risk_acceptances SET status = 'revoked', revoked_by = 'carol', revoked_at = :at WHERE id = :id"
)


async def _arrive(conn: asyncpg.Connection, step: Step, now: datetime, accepted: list[Any]) -> None:
    batch = [ev(x.type, now + x.offset, **dict(x.data)) for x in step.arrivals if isinstance(x, Event)]
    if batch:
        await load(conn, batch)
    for x in step.arrivals:
        if isinstance(x, Accept):
            # A vulnerability-scoped acceptance may name an asset; a control-scoped one names no vulnerability.
            vulnerability, control = (
                (x.vulnerability_id, None) if x.vulnerability_id else (None, x.control_id)
            )
            accepted.append(
                await conn.fetchval(
                    _ACCEPT.text,
                    *_ACCEPT.args(
                        vulnerability_id=vulnerability,
                        asset_id=x.asset_id if vulnerability else None,
                        control_id=control,
                        severity=x.severity,
                        approved_at=now + x.approved,
                        expires_at=now + x.approved + x.expires,
                    ),
                )
            )
        elif isinstance(x, Revoke) and x.n < len(accepted):
            await execute(conn, _REVOKE, id=accepted[x.n], at=now + x.offset)


def _keyed(samples: list[Sample]) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value for s in samples}


async def _compare(conn: asyncpg.Connection, state: LiveState, at: datetime) -> None:
    """The live samples at `at` and the as-of ones, in one repeatable read."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        found, seqs = await evaluate_live(conn, state, at=at, caps=CAPS)
        expected = _keyed(await compute_snapshot(conn, at=at, policy=POLICY, max_business_units=50))
    await changes.forget(conn, seqs)
    live = _keyed(found.samples)
    assert live.keys() == expected.keys(), (at, sorted(live.keys() ^ expected.keys(), key=str))
    for key, value in expected.items():
        assert live[key] == pytest.approx(value, rel=1e-12, abs=1e-6), (at, key)


def run(stack: Settings, plan: list[Step]) -> None:
    """Truncate, then per step: the arrivals, a live snapshot compared, the clock moved on."""

    async def main() -> None:
        await truncate_all(stack.migration_asyncpg_dsn())
        conn = await asyncpg.connect(stack.asyncpg_dsn())
        try:
            state, now, accepted = LiveState(POLICY), T, []
            await _compare(conn, state, now)  # the first pass over an empty estate
            for step in plan:
                await _arrive(conn, step, now, accepted)
                await _compare(conn, state, now)
                now += step.advance
                await _compare(conn, state, now)  # nothing new: only the clock moved
        finally:
            await conn.close()

    asyncio.run(main())


def quiet(*arrivals: Event | Accept | Revoke, advance: timedelta) -> list[Step]:
    """The arrivals, then the clock moves by `advance` (and a microsecond more) with nothing new."""
    return [Step(arrivals, advance), Step((), US)]


CRITICAL = {"asset_id": "a1", "vulnerability_id": "v1", "severity": "critical"}
SERVER = {"asset_id": "a1", "business_unit": "retail", "kind": "server", "os_family": "linux"}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(plan=steps)
# An open critical cycle crosses its 7-day SLA one microsecond after it (debt starts growing).
@example(
    plan=quiet(
        e("asset.observed", -D, **SERVER), e("vulnerability.detected", -7 * D + H, **CRITICAL), advance=H
    )
)
# Its age enters the 31-60d bucket at exactly 31 days.
@example(plan=quiet(e("vulnerability.detected", -31 * D + S, **{**CRITICAL, "severity": "low"}), advance=S))
# A closed cycle leaves the 7d, then the 30d window of time to patch.
@example(
    plan=quiet(
        e("vulnerability.detected", -9 * D, **CRITICAL),
        e("vulnerability.remediated", -7 * D + S, asset_id="a1", vulnerability_id="v1"),
        advance=S,
    )
)
# A heartbeat goes stale one microsecond after the max age; an inventory record after 30 days.
@example(
    plan=quiet(
        e("asset.observed", -30 * D + H, **SERVER), e("edr.heartbeat", -D + H, asset_id="a1"), advance=H
    )
)
@example(plan=quiet(e("asset.observed", -D, **SERVER), e("edr.heartbeat", -D + H, asset_id="a1"), advance=H))
# Shadow IT: a sensor the inventory never saw, going stale.
@example(plan=quiet(e("edr.heartbeat", -D + H, asset_id="ghost"), advance=H))
# A cloud check goes stale after 7 days.
@example(
    plan=quiet(
        e(
            "cloud.evaluated",
            -7 * D + S,
            resource_id="r1",
            control_id="c1",
            status="fail",
            severity="high",
            provider="aws",
        ),
        advance=S,
    )
)
# An incident stage leaves the 7d window.
@example(
    plan=quiet(
        e("incident.opened", -8 * D, incident_id="i1", severity="high"),
        e("incident.acknowledged", -7 * D + S, incident_id="i1"),
        advance=S,
    )
)
# Events ahead of the instant (up to 24 h) start to count when their time comes.
@example(
    plan=quiet(
        e("vulnerability.detected", H, **CRITICAL),
        e("identity.observed", 2 * H, user_id="u1", privileged=True, business_unit="retail"),
        e("mfa.enrolled", 3 * H, user_id="u1", factor_type="fido2"),
        advance=3 * H,
    )
)
# An acceptance expires, with no decision in between; another is revoked by a decision.
@example(
    plan=quiet(
        e("vulnerability.detected", -40 * D, **CRITICAL), Accept("v1", None, "critical", -D, D + H), advance=H
    )
)
@example(
    plan=[
        Step(
            (
                e(
                    "cloud.evaluated",
                    -D,
                    resource_id="r1",
                    control_id="c1",
                    status="fail",
                    severity="low",
                    provider="aws",
                ),
                Accept(None, "c1", "high", -D, 8 * D),
            ),
            H,
        ),
        Step((Revoke(0, -S),), S),
    ]
)
# An acceptance approved "in the past" that commits after the snapshot covering that instant.
@example(
    plan=[
        Step((e("vulnerability.detected", -40 * D, **CRITICAL),), H),
        Step((Accept("v1", None, "critical", -H, D),), S),
    ]
)
def test_live_equals_as_of(stack: Settings, plan: list[Step]) -> None:
    run(stack, plan)


async def test_the_leader_stores_live_snapshots_and_forgets_what_it_processed(
    clean: Settings, db: asyncpg.Connection
) -> None:
    live = Live(POLICY)
    await load(db, [ev("vulnerability.detected", T - 10 * D, **CRITICAL)])
    # The first snapshot reads everything and processes the one change row the batch left.
    await live.store(db, at=T, caps=CAPS, writer="test")
    assert await db.fetchval("SELECT count(*) FROM entity_changes") == 0
    await load(db, [ev("vulnerability.remediated", T - D, asset_id="a1", vulnerability_id="v1")])
    assert await db.fetchval("SELECT count(*) FROM entity_changes") == 1
    await live.store(db, at=T + H, caps=CAPS, writer="test")
    assert await db.fetchval("SELECT count(*) FROM entity_changes") == 0
    stored = _keyed(await samples_at(db, T + H))
    # The cycle is closed (detected 10 days before T, remediated 9 days later): no open critical cycle is
    # left, and one remediation in the 7d window missed its 7-day SLA.
    labels = {"business_unit": "unassigned", "severity": "critical"}
    assert not [name for name, _ in stored if name == "trustline_vulnerabilities_open"]
    missed = {**labels, "window": "7d", "sla": "missed"}
    assert stored[("trustline_patch_remediations", frozenset(missed.items()))] == 1
