"""Two database roles: migrations run as the schema owner, the services as a role granted only what they
use. The audit trail is append-only by privilege, not by courtesy."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from alembic import command
from pydantic import SecretStr

from tests.scenario import D, T, ev, load
from trustline.shared import grants
from trustline.shared.metrics.samples import Sample
from trustline.shared.metrics.store import prune, write_snapshot
from trustline.shared.migrations import alembic_config, upgrade
from trustline.shared.policy import Policy
from trustline.shared.risk import service as registry
from trustline.shared.risk.models import AcceptanceCreate, Scope
from trustline.shared.settings import DEV_OWNER_ROLE, DEV_SERVICE_ROLE, Settings

pytestmark = pytest.mark.integration
Refused = (asyncpg.InsufficientPrivilegeError,)


async def _audited(db: asyncpg.Connection) -> None:
    proposal = AcceptanceCreate(
        title="VPN",
        justification="patch due",
        severity="high",
        business_owner="Retail",
        expires_at=T + 10 * D,
        scope=Scope(vulnerability_id="CVE-1"),
    )
    await registry.propose(db, data=proposal, actor="alice", now=T, policy=Policy())


async def test_the_services_role_cannot_rewrite_the_audit_trail_or_change_the_schema(
    clean: Settings, db: asyncpg.Connection, owner_db: asyncpg.Connection
) -> None:
    assert await db.fetchval("SELECT current_user") == DEV_SERVICE_ROLE
    await _audited(db)  # what the services do is allowed
    for statement in (
        "TRUNCATE risk_acceptance_audit",
        "ALTER TABLE risk_acceptance_audit DISABLE TRIGGER ALL",
        "ALTER TABLE risk_acceptance_audit DISABLE TRIGGER risk_acceptance_audit_append_only",
        "UPDATE risk_acceptance_audit SET actor = 'mallory'",
        "DELETE FROM risk_acceptance_audit",
        "DROP TABLE risk_acceptance_audit",
        "TRUNCATE raw_events",
        "DELETE FROM raw_events",
        "UPDATE raw_events SET data = '{}'",
        "CREATE TABLE mine (x int)",
        "CREATE TABLE raw_events_p209901 PARTITION OF raw_events FOR VALUES FROM ('2099-01-01') TO ('2099-02-01')",
        "DROP FUNCTION trustline_append_only() CASCADE",
        "CREATE FUNCTION pwn() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "DELETE FROM api_keys",
        # UPDATE reaches only the columns the services change: never a key's rights or an acceptance's terms.
        "UPDATE api_keys SET scopes = '{events:write,risk:approve}'",
        "UPDATE api_keys SET principal = 'bob'",
        "UPDATE risk_acceptances SET severity = 'critical', expires_at = now() + interval '10 years'",
        "UPDATE risk_acceptances SET requested_by = 'bob'",
        "UPDATE vuln_cycle_versions SET severity = 'low'",
    ):
        with pytest.raises(Refused):
            await db.execute(statement)
    # The owner is refused too, by the trigger: an audit row is never updated or deleted.
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await owner_db.execute("UPDATE risk_acceptance_audit SET actor = 'mallory'")
    assert await owner_db.fetchval("SELECT count(*) FROM risk_acceptance_audit WHERE actor = 'alice'") == 1


async def test_partitions_come_through_the_owners_function_and_history_needs_no_ddl(
    clean: Settings, db: asyncpg.Connection, owner_db: asyncpg.Connection
) -> None:
    # A month nobody has written yet, by the services' role.
    await load(db, [ev("asset.observed", datetime(2003, 5, 17, tzinfo=UTC), asset_id="h1")])
    owners = await owner_db.fetch(
        "SELECT relname, pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname = ANY($1::text[])",
        ["raw_events_p200305"],
    )
    assert {r["owner"] for r in owners} == {DEV_OWNER_ROLE} and len(owners) == 1
    # The function builds names and bounds itself and refuses nonsense.
    with pytest.raises(asyncpg.RaiseError, match="outside 2000 to 2199"):
        await db.execute("SELECT trustline_create_raw_events_partitions(ARRAY[date '1999-12-01'])")
    # The metric history needs no DDL: the services write a snapshot and prune it with their own grants.
    at = datetime(2003, 5, 18, 6, tzinfo=UTC)
    await write_snapshot(db, at=at, samples=[Sample("trustline_incidents_open", {"severity": "high"}, 1.0)],
                         seconds=0.0, writer="test")  # fmt: skip
    removed = await prune(db, now=at + timedelta(days=2), full_resolution=D, retention=D)
    assert removed == 1
    assert await db.fetchval("SELECT count(*) FROM metric_values") == 0
    assert await db.fetchval("SELECT count(*) FROM metric_series") == 0


async def test_every_table_sequence_and_function_of_the_schema_is_in_the_privilege_map(
    owner_db: asyncpg.Connection,
) -> None:
    rows = await owner_db.fetch(
        "SELECT relname, relkind::text FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
        "AND relkind IN ('r', 'p', 'S', 'v', 'm') AND NOT relispartition"
    )
    tables = {r["relname"] for r in rows if r["relkind"] != "S"}
    sequences = {r["relname"] for r in rows if r["relkind"] == "S"}
    functions = {
        r["proname"]
        for r in await owner_db.fetch(
            "SELECT proname FROM pg_proc WHERE pronamespace = current_schema()::regnamespace"
        )
    }
    # A new table, sequence or function must be given a reviewed entry (possibly "nothing").
    assert tables == set(grants.TABLES)
    assert sequences == set(grants.SEQUENCES)
    assert functions == set(grants.FUNCTIONS)


async def test_applying_the_map_again_takes_back_what_is_not_listed(
    stack: Settings, db: asyncpg.Connection, owner_db: asyncpg.Connection
) -> None:
    await owner_db.execute(f"GRANT DELETE, TRUNCATE ON risk_acceptance_audit TO {DEV_SERVICE_ROLE}")
    await owner_db.execute(f"GRANT CREATE ON SCHEMA public TO {DEV_SERVICE_ROLE}")
    report = await asyncio.to_thread(grants.apply, stack)
    assert report.applied and not report.unlisted and report.tables == len(grants.TABLES)
    privileges = await owner_db.fetch(
        "SELECT p FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER', 'REFERENCES']) "
        "AS p WHERE has_table_privilege($1, 'risk_acceptance_audit', p)",
        DEV_SERVICE_ROLE,
    )
    assert sorted(r["p"] for r in privileges) == ["INSERT", "SELECT"]
    assert not await owner_db.fetchval(
        "SELECT has_schema_privilege($1, 'public', 'CREATE')", DEV_SERVICE_ROLE
    )
    again = await asyncio.to_thread(grants.apply, stack)
    assert again.summary() == report.summary()


async def test_production_refuses_services_that_own_the_schema(stack: Settings) -> None:
    # TRUSTLINE_DATABASE_URL names the owner: migrate must not leave the audit trail in the services' hands.
    owner = SecretStr(stack.migration_asyncpg_dsn())
    prod = stack.model_copy(update={"env": "prod", "database_url": owner, "migration_database_url": owner})
    with pytest.raises(grants.GrantError, match="schema owner"):
        await asyncio.to_thread(grants.apply, prod)
    # In dev the same set-up is allowed, and said.
    report = await asyncio.to_thread(grants.apply, prod.model_copy(update={"env": "dev"}))
    assert not report.applied and "schema owner" in report.summary()


async def test_migrations_run_from_scratch_as_an_owner_who_is_not_a_superuser(
    clean: Settings, owner_db: asyncpg.Connection
) -> None:
    assert not await owner_db.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    await asyncio.to_thread(command.downgrade, alembic_config(clean), "base")
    try:
        assert await owner_db.fetchval("SELECT to_regclass('risk_acceptance_audit')") is None
    finally:
        report = await asyncio.to_thread(upgrade, clean)
    assert report is not None and report.applied and not report.unlisted
