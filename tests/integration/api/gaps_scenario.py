"""The drill-down scenario: one small organisation touching every gap, with its snapshot stored at T."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from tests.helpers import Series
from tests.scenario import D, H, T, ev, load
from trustline.shared.metrics.snapshot import snapshot_once
from trustline.shared.metrics.store import latest_snapshot
from trustline.shared.policy import Policy
from trustline.shared.risk import service as registry
from trustline.shared.risk.models import AcceptanceCreate, Scope


def asset(asset_id: str, at: datetime, bu: str, kind: str = "endpoint", os: str = "windows",
          **extra: Any) -> dict[str, Any]:  # fmt: skip
    return ev("asset.observed", at, source="test/cmdb", asset_id=asset_id, business_unit=bu, kind=kind,
              os_family=os, **extra)  # fmt: skip


def beat(asset_id: str, at: datetime, healthy: bool = True) -> dict[str, Any]:
    return ev("edr.heartbeat", at, source="test/edr", asset_id=asset_id, healthy=healthy)


def person(user: str, at: datetime, privileged: bool, bu: str) -> dict[str, Any]:
    return ev(
        "identity.observed", at, source="test/idp", user_id=user, privileged=privileged, business_unit=bu
    )


def mfa(user: str, at: datetime, factor: str, action: str = "enrolled") -> dict[str, Any]:
    return ev(f"mfa.{action}", at, source="test/idp", user_id=user, factor_type=factor)


def vuln(asset_id: str, cve: str, at: datetime, severity: str) -> dict[str, Any]:
    return ev("vulnerability.detected", at, asset_id=asset_id, vulnerability_id=cve, severity=severity)


def check(resource: str, control: str, at: datetime, status: str, severity: str = "high",
          provider: str = "aws", **extra: Any) -> dict[str, Any]:  # fmt: skip
    return ev("cloud.evaluated", at, source="test/prowler", resource_id=resource, control_id=control,
              status=status, severity=severity, provider=provider, **extra)  # fmt: skip


def incident(stage: str, incident_id: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return ev(f"incident.{stage}", at, source="test/pager", incident_id=incident_id, **extra)


async def accept(
    db: asyncpg.Connection, *, at: datetime, expires: datetime, severity: str, **scope: str
) -> None:
    proposal = AcceptanceCreate(title="t", justification="j", severity=severity, business_owner="owner",  # type: ignore[arg-type]
                                expires_at=expires, scope=Scope(**scope))  # fmt: skip
    made = await registry.propose(db, data=proposal, actor="alice", now=at, policy=Policy())
    await registry.approve(db, acceptance_id=made.id, actor="bob", now=at + H)


async def build(db: asyncpg.Connection) -> Series:
    """The scenario; stores the snapshot at T (the API's default instant) and returns its samples."""
    await load(db, [
        # EDR. Expected: e1, e2 (payments/windows), e3, e9 (payments/linux), e11 (retail/macos), e12 (retail/windows).
        asset("e1", T - 2 * D, "payments"), beat("e1", T - H),                               # covered
        asset("e2", T - 2 * D, "payments"), beat("e2", T - 25 * H),                          # stale_heartbeat
        asset("e3", T - 2 * D, "payments", "server", "linux"), beat("e3", T - 2 * H),
        ev("edr.uninstalled", T - H, asset_id="e3"),                                         # uninstalled
        asset("e4", T - 40 * D, "payments", "server", "linux"), beat("e4", T - H),           # inventory stale
        asset("e5", T - D, "payments", "network", "linux"),                                  # EDR not required
        asset("e6", T - 3 * D, "payments"), ev("asset.retired", T - D, asset_id="e6"),       # retired
        asset("e9", T - D, "payments", "endpoint", "linux"),                                 # no_sensor
        asset("e11", T - D, "retail", "endpoint", "macos", hostname="r-mac-11"), beat("e11", T - 30 * H),  # stale
        asset("e12", T - D, "retail"), beat("e12", T - H, healthy=False),                    # no_sensor (never healthy)
        beat("ghost1", T - 3 * H), beat("ghost3", T - 5 * H),                               # shadow IT
        beat("ghost2", T - 30 * H),                                                          # silent too long
        ev("asset.retired", T - 2 * D, asset_id="ghost4"), beat("ghost4", T - H),           # retired, never observed
        # Identities (privileged unless said otherwise).
        person("u1", T - 9 * D, True, "payments"), mfa("u1", T - 8 * D, "webauthn"),
        person("u2", T - 9 * D, True, "payments"), mfa("u2", T - 8 * D, "totp"),
        person("u3", T - 9 * D, True, "payments"),
        person("u4", T - 9 * D, True, "payments"), mfa("u4", T - 8 * D, "sms"), mfa("u4", T - 7 * D, "fido2"),
        person("u5", T - 9 * D, False, "payments"), mfa("u5", T - 8 * D, "push"), mfa("u5", T - 2 * D, "push", "removed"),
        person("u6", T - 9 * D, True, "retail"), ev("identity.deactivated", T - D, user_id="u6"),
        person("u7", T - 9 * D, False, "retail"), person("u7", T - 3 * D, True, "retail"),    # promoted, no MFA
        person("u10", T - 9 * D, True, "retail"), mfa("u10", T - 8 * D, "sms"), mfa("u10", T - 8 * D, "totp"),
        # Vulnerabilities (SLA days: critical 7, high 30, medium 90, low 120); hx is unknown to the inventory.
        asset("srv-pay", T - 60 * D, "payments", "server", edr_required=False),
        asset("srv-ret", T - 60 * D, "retail", "server", edr_required=False),
        asset("srv-old", T - 60 * D, "payments", "server", edr_required=False),
        ev("asset.retired", T - D, asset_id="srv-old"),
        vuln("srv-pay", "CVE-1", T - 10 * D, "critical"),
        vuln("srv-ret", "CVE-2", T - 40 * D, "high"),
        vuln("hx", "CVE-3", T - 100 * D, "medium"),
        vuln("srv-pay", "CVE-4", T - 5 * D, "critical"),
        vuln("srv-pay", "CVE-5", T - 50 * D, "high"),
        vuln("srv-ret", "CVE-6", T - 9 * D, "critical"),
        vuln("srv-old", "CVE-7", T - 20 * D, "critical"),
        vuln("srv-pay", "CVE-8", T - 200 * D, "low"),
        ev("vulnerability.remediated", T - D, asset_id="srv-pay", vulnerability_id="CVE-8"),
        vuln("srv-pay", "CVE-9", T - 30 * D, "critical"), vuln("srv-pay", "CVE-9", T - 2 * D, "high"),
        vuln("srv-pay", "CVE-10", T - 300 * D, "info"),
        vuln("srv-ret", "CVE-11", T - 130 * D, "low"),
        vuln("srv-pay", "CVE-12", T - 95 * D, "medium"),
        # Cloud checks (fresh: evaluated within 7 d).
        check("r1", "c1", T - D, "fail", account="111", region="eu-west-1"),
        check("r2", "c1", T - D, "fail"),                                      # accepted (c1 on r2)
        check("r3", "c2", T - 2 * D, "pass"),
        check("r4", "c2", T - 8 * D, "fail"),                                  # stale
        check("r5", "c3", T - D, "muted", "low", "gcp"),
        check("r6", "c3", T - 3 * D, "fail", "low", "gcp"), check("r6", "c3", T - D, "pass", "low", "gcp"),
        check("r7", "c4", T - D, "fail", "info", "azure"),                     # info never counts
        check("r8", "c9", T - D, "fail", "critical"),                          # its acceptance expired
        check("r9", "c5", T - 2 * D, "fail", "medium", "gcp"),
        # Incidents.
        incident("opened", "i1", T - 3 * H, severity="high"), incident("acknowledged", "i1", T - 2 * H),
        incident("opened", "i2", T - D, severity="critical"), incident("acknowledged", "i2", T - 20 * H),
        incident("contained", "i2", T - 10 * H), incident("restored", "i2", T - 5 * H),
        incident("opened", "i3", T - 2 * D, severity="critical"), incident("resolved", "i3", T - D),
        incident("opened", "i4", T - H, severity="low"),
        incident("opened", "i5", T - H, severity="info"),
        incident("opened", "i6", T - H),                                       # no severity: left out
        incident("opened", "i7", T - 5 * H, severity="high"),
        incident("acknowledged", "i7", T - 2 * H, severity="medium"),          # the latest severity wins
    ])  # fmt: skip
    await accept(db, at=T - 3 * D, expires=T + 10 * D, severity="high", vulnerability_id="CVE-5")
    await accept(db, at=T - 3 * D, expires=T + 10 * D, severity="critical", vulnerability_id="CVE-6",
                 business_unit="payments")  # CVE-6 is on a retail asset: not covered  # fmt: skip
    await accept(db, at=T - 20 * D, expires=T - D, severity="low", vulnerability_id="CVE-11")  # expired
    await accept(db, at=T - 3 * D, expires=T + 10 * D, severity="medium", vulnerability_id="CVE-12",
                 asset_id="srv-ret")  # another asset: CVE-12 on srv-pay not covered  # fmt: skip
    await accept(db, at=T - 2 * D, expires=T + 10 * D, severity="high", control_id="c1", resource_id="r2")
    await accept(db, at=T - 20 * D, expires=T - D, severity="critical", control_id="c9")  # expired
    await snapshot_once(db, at=T, policy=Policy(), max_business_units=50, writer="test")
    stored = await latest_snapshot(db)
    assert stored is not None and stored[0] == T
    return {(x.name, frozenset(x.labels.items())): x.value for x in stored[1]}
