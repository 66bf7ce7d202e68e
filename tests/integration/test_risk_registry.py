"""The risk-acceptance registry: lifecycle, four eyes, time limits, audit trail, expiry, and its CLI."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import free_port, serve_api
from tests.helpers import clean_env
from trustline.shared.auth import keys as keys
from trustline.shared.policy import Policy
from trustline.shared.risk import service as registry
from trustline.shared.risk.models import AcceptanceCreate, Scope
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


async def test_four_eyes_in_the_service_compares_canonical_names(
    clean: Settings, db: asyncpg.Connection
) -> None:
    made = await registry.propose(db, data=proposal(), actor=" Alice ", now=NOW, policy=Policy())
    assert made.requested_by == "alice"
    for same in ("ALICE", "alice", "\u0430lice", "\uff41lice"):  # case, Cyrillic а, fullwidth a
        with pytest.raises(registry.Forbidden, match="four eyes"):
            await registry.approve(db, acceptance_id=made.id, actor=same, now=NOW)
    with pytest.raises(registry.RegistryError, match="invisible"):
        await registry.approve(db, acceptance_id=made.id, actor="bob\u200b", now=NOW)
    approved = await registry.approve(db, acceptance_id=made.id, actor="Bob", now=NOW)
    assert (approved.status, approved.approved_by) == ("approved", "bob")


async def trustline(*args: str, **env: str) -> tuple[int, str, str]:
    """Run `trustline` in a subprocess without blocking the API served by this test's event loop."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "trustline.cli", *args, env=clean_env(COLUMNS="80", **env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_the_cli_acts_through_the_api_as_the_keys_principal(
    clean: Settings, db: asyncpg.Connection, owner_db: asyncpg.Connection, tmp_path: Path
) -> None:
    alice = await keys.create_key(
        db, principal="alice", scopes=["risk:propose", "risk:approve", "read"], now=NOW
    )
    bob_file = tmp_path / "bob.key"
    bob_file.write_text(await keys.create_key(db, principal="bob", scopes=["risk:approve"], now=NOW) + "\n")
    expires = (datetime.now(UTC) + 20 * D).isoformat()
    what = ["--title", "VPN", "--justification", "patch due\nnext week", "--severity", "high",
            "--owner", "Retail", "--vulnerability", "CVE-9", "--expires", expires]  # fmt: skip
    async with serve_api(clean) as url:
        api = ["--api-url", url]
        code, _, err = await trustline(
            "risk", "propose", "--as", "alice", *what, *api, TRUSTLINE_API_KEY=alice
        )
        assert code == 2 and "--as" in err  # a typed name is not an identity any more
        code, _, err = await trustline("risk", "propose", *what, *api)
        assert code == 1 and "need an API key" in err
        code, out, err = await trustline("risk", "propose", *what, *api, TRUSTLINE_API_KEY=alice)
        assert code == 0, err
        acceptance_id = out.split()[0]
        assert (
            "covers now: 0 vulnerabilities" in out and "warning:" in err and "covers no open findings" in err
        )
        code, _, err = await trustline("risk", "approve", acceptance_id, *api, TRUSTLINE_API_KEY=alice)
        assert code == 1 and "four eyes" in err
        code, out, err = await trustline("risk", "approve", acceptance_id, "--reason", "ok", *api,
                                         "--key-file", str(bob_file), TRUSTLINE_API_KEY=alice)  # fmt: skip
        assert code == 0 and "approved" in out, err

        # Text stored before the input rules, with a line break and terminal escapes, and a long title.
        await owner_db.execute("UPDATE risk_acceptances SET title = $1",
                         "fake\nid  approved  critical\x1b[2J\x1b[31m " + "long " * 60)  # fmt: skip
        code, out, err = await trustline("risk", "list", *api, TRUSTLINE_API_KEY=alice)
        assert code == 0, err
        lines = out.splitlines()
        assert lines[0].split("\t") == ["id", "status", "severity", "scope", "expires_at", "requested_by",
                                        "approved_by", "title"]  # fmt: skip
        assert len(lines) == 2 and "\x1b" not in out
        assert lines[1].split("\t")[:2] == [acceptance_id, "approved"]
        assert lines[1].endswith("long ") and "fake\\nid  approved  critical\\x1b[2J\\x1b[31m" in lines[1]
        code, out, _ = await trustline("risk", "list", "--json", *api, TRUSTLINE_API_KEY=alice)
        assert code == 0 and [a["approved_by"] for a in json.loads(out)] == ["bob"]
        code, out, err = await trustline("risk", "show", acceptance_id, *api, TRUSTLINE_API_KEY=alice)
        assert code == 0 and "\x1b" not in out, err
        assert "at\taction\tactor\tstatus\tdetail" in out and "approved\tbob\tapproved\treason=ok" in out
        assert "justification\tpatch due\\nnext week" in out
        code, out, _ = await trustline("risk", "show", acceptance_id, "--json", *api, TRUSTLINE_API_KEY=alice)
        shown = json.loads(out)
        assert [e["actor"] for e in shown["audit"]] == ["alice", "bob"]
        assert shown["acceptance"]["title"].startswith("fake\nid")


async def test_registry_writes_never_take_the_database_path(clean: Settings, db: asyncpg.Connection) -> None:
    alice = await keys.create_key(db, principal="alice", scopes=["risk:propose"], now=NOW)
    what = ["--title", "VPN", "--justification", "j", "--severity", "low", "--owner", "Retail",
            "--vulnerability", "CVE-9", "--expires", "30d"]  # fmt: skip
    prod = {"TRUSTLINE_ENV": "prod", "TRUSTLINE_DATABASE_URL": clean.asyncpg_dsn(),
            "TRUSTLINE_KAFKA_BOOTSTRAP": clean.bootstrap_servers(), "TRUSTLINE_API_KEY": alice,
            "TRUSTLINE_METRICS_TOKEN": "a-token"}  # fmt: skip
    closed = f"http://127.0.0.1:{free_port()}"
    code, _, err = await trustline("risk", "propose", *what, "--api-url", closed, **prod)
    assert code == 1 and "cannot reach the API" in err
    code, _, err = await trustline("risk", "propose", *what, "--api-url", "http://192.0.2.7:8000", **prod)
    assert code == 1 and "plain HTTP" in err
    assert await db.fetchval("SELECT count(*) FROM risk_acceptances") == 0
