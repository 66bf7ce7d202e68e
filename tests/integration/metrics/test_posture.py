"""Cloud configuration checks and the risk registry as metrics; acceptances ending make findings count again."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
import pytest

from tests.helpers import names_with, sample
from tests.scenario import D, H, T, ev, load, snapshot
from trustline.shared.policy import Policy
from trustline.shared.risk import service as registry
from trustline.shared.risk.models import AcceptanceCreate, Scope
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration


async def accept(db: asyncpg.Connection, *, at: datetime, expires: datetime, severity: str = "high",
                 approve: bool = True, **scope: str) -> UUID:  # fmt: skip
    proposal = AcceptanceCreate(title="t", justification="j", severity=severity, business_owner="owner",  # type: ignore[arg-type]
                                expires_at=expires, scope=Scope(**scope))  # fmt: skip
    made = await registry.propose(db, data=proposal, actor="alice", now=at, policy=Policy())
    if approve:
        await registry.approve(db, acceptance_id=made.id, actor="bob", now=at + H)
    return made.id


def check(
    resource: str, control: str, at: datetime, status: str, severity: str = "high", provider: str = "aws"
) -> dict[str, object]:
    return ev("cloud.evaluated", at, source="test/prowler", resource_id=resource, control_id=control, status=status,
              severity=severity, provider=provider)  # fmt: skip


async def test_cloud_checks_by_latest_fresh_unmuted_status(clean: Settings, db: asyncpg.Connection) -> None:
    await load(db, [
        check("r1", "c1", T - D, "fail"),
        check("r2", "c1", T - D, "fail"),                               # accepted below (c1 on r2 only)
        check("r3", "c2", T - 2 * D, "pass"),
        check("r4", "c2", T - 8 * D, "fail"),                           # stale: not evaluated for 8 d > 7 d
        check("r5", "c3", T - D, "muted", "low", "gcp"),                # muted drops out
        check("r6", "c3", T - 3 * D, "fail", "low", "gcp"), check("r6", "c3", T - D, "pass", "low", "gcp"),
        check("r7", "c4", T - D, "fail", "info", "azure"),              # info is not exported
        check("r8", "c9", T - D, "fail", "critical"),                   # its acceptance expired at T-1d
    ])  # fmt: skip
    await accept(db, at=T - 2 * D, expires=T + 10 * D, control_id="c1", resource_id="r2")
    await accept(db, at=T - 20 * D, expires=T - D, severity="critical", control_id="c9")
    m = await snapshot(db)

    def checks(provider: str, severity: str, status: str) -> float | None:
        return sample(m, "trustline_cloud_config_checks", provider=provider, severity=severity, status=status)

    assert [checks("aws", "high", s) for s in ("pass", "fail", "accepted")] == [1, 1, 1]
    assert [checks("gcp", "low", s) for s in ("pass", "fail", "accepted")] == [1, 0, 0]
    assert [checks("aws", "critical", s) for s in ("pass", "fail", "accepted")] == [0, 1, 0]
    assert not names_with(m, "trustline_cloud_config_checks", provider="azure")


async def test_registry_statuses_and_expiry_window(clean: Settings, db: asyncpg.Connection) -> None:
    await accept(db, at=T - 5 * D, expires=T + 10 * D, vulnerability_id="CVE-A")  # approved
    await accept(db, at=T - 5 * D, expires=T + 3 * D, vulnerability_id="CVE-B")  # approved, expiring
    await accept(db, at=T - 30 * D, expires=T - D, vulnerability_id="CVE-C")  # expired
    await accept(db, at=T - D, expires=T + 5 * D, vulnerability_id="CVE-D", approve=False)  # proposed
    rejected = await accept(db, at=T - 3 * D, expires=T + 5 * D, vulnerability_id="CVE-E", approve=False)
    await registry.reject(db, acceptance_id=rejected, actor="bob", now=T - 2 * D)
    revoked = await accept(db, at=T - 9 * D, expires=T + 20 * D, vulnerability_id="CVE-F")
    await registry.revoke(db, acceptance_id=revoked, actor="carol", now=T - D)
    await accept(db, at=T + H, expires=T + 9 * D, vulnerability_id="CVE-G")  # after T: unseen
    m = await snapshot(db)
    got = {
        s: sample(m, "trustline_risk_acceptances", status=s)
        for s in ("proposed", "approved", "rejected", "expired", "revoked")
    }
    assert got == {"proposed": 1, "approved": 2, "rejected": 1, "expired": 1, "revoked": 1}
    assert sample(m, "trustline_risk_acceptances_expiring_7d") == 1  # CVE-B: T+3d is in (T, T+7d]


async def test_accepted_findings_count_again_with_their_clocks_when_the_acceptance_ends(
    clean: Settings, db: asyncpg.Connection
) -> None:
    await load(db, [
        ev("asset.observed", T - 60 * D, asset_id="h1", business_unit="retail", kind="server"),
        ev("asset.observed", T - 60 * D, asset_id="h2", business_unit="retail", kind="server"),
        ev("vulnerability.detected", T - 40 * D, asset_id="h1", vulnerability_id="CVE-X", severity="high"),
        ev("vulnerability.detected", T - 40 * D, asset_id="h2", vulnerability_id="CVE-X", severity="high"),
    ])  # fmt: skip
    await accept(db, at=T - 10 * D, expires=T + D, vulnerability_id="CVE-X", asset_id="h1")

    def open_(m: dict, status: str) -> float | None:  # type: ignore[type-arg]
        return sample(
            m, "trustline_vulnerabilities_open", business_unit="retail", severity="high", sla_status=status
        )

    before = await snapshot(db)
    # h1's cycle is accepted; h2's is 40 d old against the 30 d SLA: breached, 10 days (864000 s) of debt.
    assert (open_(before, "accepted"), open_(before, "breached"), open_(before, "within_sla")) == (1, 1, 0)
    assert (
        sample(before, "trustline_security_debt_seconds", business_unit="retail", severity="high") == 864000
    )
    assert (
        sample(
            before,
            "trustline_vulnerability_backlog",
            business_unit="retail",
            severity="high",
            age_bucket="31-60d",
        )
        == 2
    )

    after = await snapshot(db, T + 2 * D)
    # The acceptance expired at T+1d: both count, with clocks from T-40d: 42 d old, 12 days of debt each,
    # 24 d = 2073600 s.
    assert (open_(after, "accepted"), open_(after, "breached")) == (0, 2)
    assert (
        sample(after, "trustline_security_debt_seconds", business_unit="retail", severity="high") == 2073600
    )


async def test_an_acceptance_stops_covering_a_finding_re_rated_above_its_severity(
    clean: Settings, db: asyncpg.Connection
) -> None:
    s = D / 86400
    await load(db, [
        ev("asset.observed", T - 60 * D, asset_id="h1", business_unit="retail", kind="server"),
        # CVE-R: medium from T-40d, re-rated critical at T-10d (the clock keeps T-40d).
        ev("vulnerability.detected", T - 40 * D, asset_id="h1", vulnerability_id="CVE-R", severity="medium"),
        ev("vulnerability.detected", T - 10 * D, asset_id="h1", vulnerability_id="CVE-R", severity="critical"),
        # CVE-W: low from T-5d, re-rated high at T-2d.
        ev("vulnerability.detected", T - 5 * D, asset_id="h1", vulnerability_id="CVE-W", severity="low"),
        ev("vulnerability.detected", T - 2 * D, asset_id="h1", vulnerability_id="CVE-W", severity="high"),
        # CVE-H: high throughout, under a critical acceptance (a higher ceiling covers it).
        ev("vulnerability.detected", T - 50 * D, asset_id="h1", vulnerability_id="CVE-H", severity="high"),
        # Cloud: r1/c1 fails as medium, re-evaluated as critical at T-1d; r2/c1 fails as low throughout.
        check("r1", "c1", T - 3 * D, "fail", "medium"), check("r1", "c1", T - D, "fail", "critical"),
        check("r2", "c1", T - 3 * D, "fail", "low"),
    ])  # fmt: skip
    await accept(db, at=T - 30 * D, expires=T + 100 * D, severity="medium", vulnerability_id="CVE-R")
    await accept(db, at=T - 4 * D, expires=T + 30 * D, severity="low", vulnerability_id="CVE-W")
    await accept(db, at=T - 20 * D, expires=T + 5 * D, severity="critical", vulnerability_id="CVE-H")
    await accept(db, at=T - 5 * D, expires=T + 30 * D, severity="medium", control_id="c1")

    def open_(m: dict, severity: str) -> list[float | None]:  # type: ignore[type-arg]
        return [sample(m, "trustline_vulnerabilities_open", business_unit="retail", severity=severity,
                       sla_status=status) for status in ("within_sla", "breached", "accepted")]  # fmt: skip

    def debt(m: dict, severity: str) -> float | None:  # type: ignore[type-arg]
        return sample(m, "trustline_security_debt_seconds", business_unit="retail", severity=severity)

    def checks(m: dict, severity: str) -> list[float | None]:  # type: ignore[type-arg]
        return [sample(m, "trustline_cloud_config_checks", provider="aws", severity=severity, status=status)
                for status in ("pass", "fail", "accepted")]  # fmt: skip

    # T-20d: CVE-R is medium, 20 d old, under its medium acceptance (approved T-30d+1h): accepted, no debt.
    # CVE-H is high and 30 d old, exactly its SLA: within it (its acceptance is approved only at T-20d+1h).
    early = await snapshot(db, T - 20 * D)
    assert open_(early, "medium") == [0, 0, 1] and debt(early, "medium") == 0
    assert open_(early, "high") == [1, 0, 0]
    assert not names_with(early, "trustline_vulnerabilities_open", severity="critical")

    # One second before the re-rating CVE-R is still medium and covered; at the re-rating instant it is
    # critical, 30 d old against the 7 d SLA: breached, 23 d = 1987200 s of debt, with the T-40d clock.
    assert open_(await snapshot(db, T - 10 * D - s), "medium") == [0, 0, 1]
    rerated = await snapshot(db, T - 10 * D)
    assert open_(rerated, "critical") == [0, 1, 0] and debt(rerated, "critical") == 23 * 86400
    assert not names_with(rerated, "trustline_vulnerabilities_open", severity="medium")

    # T-3d: CVE-W is low (2 d old) under its low acceptance. Cloud: r1 medium and r2 low, both failing,
    # both under the medium acceptance of c1 (approved T-5d+1h).
    before = await snapshot(db, T - 3 * D)
    assert open_(before, "low") == [0, 0, 1]
    assert checks(before, "medium") == [0, 0, 1] and checks(before, "low") == [0, 0, 1]

    m = await snapshot(db, T)
    # At T: CVE-R critical, 40 d old: breached, 33 d = 2851200 s of debt. CVE-W high, 5 d old against 30 d:
    # within SLA again (no debt). CVE-H high under the critical acceptance: accepted, no debt.
    assert open_(m, "critical") == [0, 1, 0] and debt(m, "critical") == 33 * 86400
    assert open_(m, "high") == [1, 0, 1] and debt(m, "high") == 0
    assert not names_with(m, "trustline_vulnerabilities_open", severity="low")
    # r1 is critical since T-1d, above the medium acceptance: failing. r2 (low) stays accepted.
    assert checks(m, "critical") == [0, 1, 0] and checks(m, "low") == [0, 0, 1]
    assert not names_with(m, "trustline_cloud_config_checks", severity="medium")
