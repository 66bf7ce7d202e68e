"""The risk-acceptance registry: lifecycle, four eyes, time limits, audit trail, expiry, and its CLI."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.helpers import clean_env
from trustline.api.risk_acceptances import service as registry
from trustline.api.risk_acceptances.schemas import AcceptanceCreate, Scope
from trustline.shared.policy import Policy
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
NOW = datetime(2026, 10, 1, tzinfo=UTC)
D = timedelta(days=1)


def proposal(severity: str = "critical", expires: datetime = NOW + 10 * D, **scope: str) -> AcceptanceCreate:
    return AcceptanceCreate(title="Legacy VPN", justification="vendor patch due", severity=severity,  # type: ignore[arg-type]
                            business_owner="Head of Retail", expires_at=expires,
                            scope=Scope(**(scope or {"vulnerability_id": "CVE-1"})))  # fmt: skip


async def test_lifecycle_with_four_eyes_and_an_append_only_trail(
    clean: Settings, db: asyncpg.Connection, owner_db: asyncpg.Connection
) -> None:
    made = await registry.propose(db, data=proposal(), actor="alice", now=NOW, policy=Policy())
    assert made.status == "proposed" and made.requested_by == "alice"
    with pytest.raises(registry.Forbidden, match="four eyes"):
        await registry.approve(db, acceptance_id=made.id, actor="alice", now=NOW)
    approved = await registry.approve(
        db, acceptance_id=made.id, actor="bob", now=NOW + D, reason="compensated"
    )
    assert (approved.status, approved.approved_by, approved.approved_at) == ("approved", "bob", NOW + D)
    with pytest.raises(registry.Conflict):
        await registry.reject(db, acceptance_id=made.id, actor="carol", now=NOW + D)
    revoked = await registry.revoke(db, acceptance_id=made.id, actor="carol", now=NOW + 2 * D)
    assert revoked.status == "revoked"
    with pytest.raises(registry.Conflict):
        await registry.revoke(db, acceptance_id=made.id, actor="carol", now=NOW + 3 * D)

    _, trail = await registry.get(db, acceptance_id=made.id)
    assert [(e.action, e.actor, e.status) for e in trail] == [
        ("proposed", "alice", "proposed"), ("approved", "bob", "approved"), ("revoked", "carol", "revoked"),
    ]  # fmt: skip
    assert trail[1].detail == {"reason": "compensated"}
    for statement in (
        "UPDATE risk_acceptance_audit SET actor = 'mallory'",
        "DELETE FROM risk_acceptance_audit",
    ):
        # The services' role holds no such privilege; even the schema owner is stopped by the trigger.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await db.execute(statement)
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await owner_db.execute(statement)


async def test_time_limits_follow_the_policy(clean: Settings, db: asyncpg.Connection) -> None:
    # critical: at most 30 days; low: at most 365.
    with pytest.raises(registry.RegistryError, match="at most 30 days"):
        await registry.propose(
            db, data=proposal("critical", NOW + 31 * D), actor="a", now=NOW, policy=Policy()
        )
    await registry.propose(db, data=proposal("critical", NOW + 30 * D), actor="a", now=NOW, policy=Policy())
    await registry.propose(db, data=proposal("low", NOW + 365 * D), actor="a", now=NOW, policy=Policy())
    with pytest.raises(registry.RegistryError, match="future"):
        await registry.propose(db, data=proposal("low", NOW - D), actor="a", now=NOW, policy=Policy())
    stale = await registry.propose(db, data=proposal("low", NOW + D), actor="a", now=NOW, policy=Policy())
    with pytest.raises(registry.Conflict, match="expiry has already passed"):
        await registry.approve(db, acceptance_id=stale.id, actor="b", now=NOW + 2 * D)


def test_scope_must_be_one_kind() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Scope(vulnerability_id="CVE-1", control_id="c")
    with pytest.raises(ValueError, match="exactly one"):
        Scope()
    with pytest.raises(ValueError, match="vulnerability scopes only"):
        Scope(control_id="c", business_unit="retail")


async def test_expiry_is_recorded_at_the_expiry_time(clean: Settings, db: asyncpg.Connection) -> None:
    made = await registry.propose(db, data=proposal(expires=NOW + 5 * D), actor="a", now=NOW, policy=Policy())
    await registry.approve(db, acceptance_id=made.id, actor="b", now=NOW)
    assert await registry.expire_due(db, now=NOW + 4 * D) == 0
    assert await registry.expire_due(db, now=NOW + 6 * D) == 1
    assert await registry.expire_due(db, now=NOW + 7 * D) == 0
    got, trail = await registry.get(db, acceptance_id=made.id)
    assert got.status == "expired"
    assert (trail[-1].action, trail[-1].actor, trail[-1].at) == ("expired", "trustline", NOW + 5 * D)
    assert [a.id for a in await registry.list_acceptances(db, status="expired")] == [made.id]
    assert await registry.list_acceptances(db, status="approved") == []


def trustline(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(TRUSTLINE_DATABASE_URL=settings.asyncpg_dsn(), COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "trustline.cli", "risk", *args], env=env, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip


def test_the_cli_drives_the_registry(clean: Settings) -> None:
    expires = (datetime.now(UTC) + 20 * D).isoformat()
    made = trustline(clean, "propose", "--as", "alice", "--title", "VPN", "--justification", "patch due",
                     "--severity", "high", "--owner", "Retail", "--vulnerability", "CVE-9", "--expires", expires)  # fmt: skip
    assert made.returncode == 0, made.stderr
    acceptance_id = made.stdout.split()[0]
    refused = trustline(clean, "approve", acceptance_id, "--as", "alice")
    assert refused.returncode == 1 and "four eyes" in refused.stdout
    assert trustline(clean, "approve", acceptance_id, "--as", "bob").returncode == 0
    shown = trustline(clean, "show", acceptance_id)
    assert shown.returncode == 0 and "approved" in shown.stdout and "bob" in shown.stdout
