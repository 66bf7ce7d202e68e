"""The organisation behind the Grafana end-to-end test: every board panel has something to show.

T0 is the test's start; every event lies at least an hour before it, and no figure below changes when
the snapshot is taken a minute or two after T0. The headline KPIs, worked out by hand:

EDR: a1, a2, a3 (retail), a4, a5 (payments) observed T0-2d, in scope. Healthy heartbeats at T0-2h on
a1, a2, a4, a5; a3's last one is 3 days old (> 24 h). Coverage 4 / 5 = 0.8. "ghost" has a sensor
and no inventory record: 1 unknown asset.

Privileged MFA: u1 (webauthn), u2 (totp), u3 (none), u4 (totp + fido2). Any factor: u1, u2, u4 = 3 / 4
= 0.75; phishing resistant (a factor in the policy list): u1, u4 = 2 / 4 = 0.5.

Cloud: pass r1, r2, r5; fail r3; r4 fails but is under an approved acceptance (accepted: neither).
Compliance 3 / (3 + 1) = 0.75.

Patching, remediations in the 30d window (SLA critical 7 d, high 30 d):
  critical: 3 d (259200 s, met), 10 d (864000 s, missed), 2 d (172800 s, met) -> 2 / 3
  high:     35 d (3024000 s, missed), 5 d (432000 s, met)                     -> 1 / 2
MTTR (restore, 30d): critical (5 h + 9 h) / 2 = 25200 s; high 12 h = 43200 s.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from tests.scenario import D, H, ev, load
from trustline.shared.connectors.kev import Entry
from trustline.shared.connectors.kev_catalog import store_catalog
from trustline.shared.policy import Policy
from trustline.shared.risk import service as registry
from trustline.shared.risk.models import AcceptanceCreate, Scope

M = timedelta(minutes=1)


def t0() -> datetime:
    """The scenario's reference instant: now, to the second."""
    return datetime.now(UTC).replace(microsecond=0)


def assets(t: datetime) -> list[dict[str, Any]]:
    def asset(i: str, bu: str, os: str, kind: str) -> dict[str, Any]:
        return ev("asset.observed", t - 2 * D, asset_id=i, business_unit=bu, os_family=os, kind=kind)

    hb = [ev("edr.heartbeat", t - 2 * H, asset_id=a) for a in ("a1", "a2", "a4", "a5")]
    return [
        asset("a1", "retail", "linux", "server"), asset("a2", "retail", "linux", "server"),
        asset("a3", "retail", "windows", "endpoint"), asset("a4", "payments", "linux", "server"),
        asset("a5", "payments", "macos", "endpoint"),
        *hb, ev("edr.heartbeat", t - 3 * D, asset_id="a3"), ev("edr.heartbeat", t - H, asset_id="ghost"),
    ]  # fmt: skip


def identities(t: datetime) -> list[dict[str, Any]]:
    def who(u: str, bu: str, privileged: bool) -> dict[str, Any]:
        return ev("identity.observed", t - 10 * D, user_id=u, business_unit=bu, privileged=privileged)

    def mfa(u: str, factor: str) -> dict[str, Any]:
        return ev("mfa.enrolled", t - 9 * D, user_id=u, factor_type=factor, factor_id=f"{u}-{factor}")

    return [
        who("u1", "retail", True), who("u2", "retail", True), who("u3", "payments", True),
        who("u4", "payments", True), who("u5", "retail", False), who("u6", "payments", False),
        mfa("u1", "webauthn"), mfa("u2", "totp"), mfa("u4", "totp"), mfa("u4", "fido2"), mfa("u5", "totp"),
    ]  # fmt: skip


def cloud(t: datetime) -> list[dict[str, Any]]:
    def check(r: str, c: str, status: str, severity: str, provider: str) -> dict[str, Any]:
        return ev("cloud.evaluated", t - D, resource_id=r, control_id=c, status=status, severity=severity,
                  provider=provider)  # fmt: skip

    return [
        check("r1", "c1", "pass", "high", "aws"), check("r2", "c1", "pass", "high", "aws"),
        check("r3", "c2", "fail", "critical", "aws"), check("r4", "c3", "fail", "medium", "gcp"),
        check("r5", "c4", "pass", "low", "gcp"),
    ]  # fmt: skip


def vulnerabilities(t: datetime) -> list[dict[str, Any]]:
    def found(a: str, v: str, sev: str, ago: timedelta) -> dict[str, Any]:
        return ev("vulnerability.detected", t - ago, asset_id=a, vulnerability_id=v, severity=sev)

    def fixed(a: str, v: str, ago: timedelta) -> dict[str, Any]:
        return ev("vulnerability.remediated", t - ago, asset_id=a, vulnerability_id=v)

    return [
        found("a1", "CVE-C1", "critical", 20 * D), fixed("a1", "CVE-C1", 17 * D),  # 3 d: met
        found("a2", "CVE-C2", "critical", 25 * D), fixed("a2", "CVE-C2", 15 * D),  # 10 d: missed
        found("a4", "CVE-C3", "critical", 12 * D), fixed("a4", "CVE-C3", 10 * D),  # 2 d: met
        found("a1", "CVE-H1", "high", 40 * D), fixed("a1", "CVE-H1", 5 * D),  # 35 d: missed
        found("a4", "CVE-H2", "high", 6 * D), fixed("a4", "CVE-H2", 1 * D),  # 5 d: met
        found("a3", "CVE-C9", "critical", 9 * D),  # open, past the 7 d SLA
        found("a5", "CVE-M1", "medium", 100 * D),  # open, past the 90 d SLA, 90d+ backlog
        found("a2", "CVE-L1", "low", 10 * D),  # open, within SLA
        found("a4", "CVE-A1", "high", 50 * D),  # open, past SLA but accepted
    ]  # fmt: skip


def incidents(t: datetime) -> list[dict[str, Any]]:
    def stages(i: str, sev: str, opened: datetime, **after: timedelta) -> list[dict[str, Any]]:
        out = [ev("incident.opened", opened, incident_id=i, severity=sev)]
        return out + [ev(f"incident.{s}", opened + d, incident_id=i) for s, d in after.items()]

    return [
        *stages("i1", "critical", t - 10 * D, acknowledged=H, contained=3 * H, restored=5 * H, resolved=6 * H),
        *stages("i2", "critical", t - 20 * D, acknowledged=30 * M, contained=2 * H, restored=9 * H, resolved=10 * H),
        *stages("i3", "high", t - 3 * D, acknowledged=2 * H, contained=4 * H, restored=12 * H, resolved=D),
        *stages("i4", "medium", t - 2 * H, acknowledged=H),  # still open
        *stages("i5", "low", t - 5 * H, acknowledged=-H),  # acknowledged before it opened: a stage error
    ]  # fmt: skip


async def acceptances(conn: asyncpg.Connection, t: datetime) -> None:
    """CVE-A1 accepted until T0+5d (expiring within 7 days), r4/c3 accepted, one acceptance expired."""

    async def accept(scope: Scope, severity: str, start: datetime, expires: datetime) -> None:
        data = AcceptanceCreate(title="Legacy system", justification="vendor patch pending", scope=scope,
                                severity=severity, business_owner="Head of Retail", expires_at=expires)  # type: ignore[arg-type]  # fmt: skip
        made = await registry.propose(conn, data=data, actor="alice", now=start, policy=Policy())
        await registry.approve(conn, acceptance_id=made.id, actor="bob", now=start + H)

    await accept(Scope(vulnerability_id="CVE-A1"), "high", t - 2 * D, t + 5 * D)
    await accept(Scope(control_id="c3", resource_id="r4"), "medium", t - 2 * D, t + 60 * D)
    await accept(Scope(vulnerability_id="CVE-L1"), "low", t - 20 * D, t - 10 * D)
    await registry.expire_due(conn, now=t)


async def build(conn: asyncpg.Connection, t: datetime) -> None:
    """Store every event of the organisation through the real ingest store, and the registry."""
    await load(conn, [*assets(t), *identities(t), *cloud(t), *vulnerabilities(t), *incidents(t)])
    await acceptances(conn, t)
    # CVE-C9 is known-exploited (catalog imported 30 d before t, due 2 d before t): a KEV breach.
    kev = Entry("CVE-C9", (t - 31 * D).date(), (t - 2 * D).date())
    await store_catalog(conn, [kev], at=t - 30 * D)
