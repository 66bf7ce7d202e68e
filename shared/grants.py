"""What the services' database role may do: an explicit, reviewed map, applied by `trustline migrate`.

Migrations run as the schema owner; the services (ingest, aggregator, API, demo, operator CLI) connect
as another role that owns nothing and holds exactly the privileges below. Applying the map is
idempotent: every listed object gets what is listed and loses the rest, and every other table,
sequence or function of the schema loses everything, in one transaction. Partitions are reached
through their parent (PostgreSQL checks the parent's privileges), so they get nothing directly; they
are created and dropped by SECURITY DEFINER functions the owner owns (migration 0006).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

import asyncpg

from .db import connect_owner
from .settings import Settings
from .sql import Query, execute, fetchrow, fetchval

_READ_APPEND = frozenset({"SELECT", "INSERT"})
# A refold closes an entity's current version (its valid_to) and replaces its later versions (a
# vulnerability cycle whose remediation changes is deleted and written again whole); nothing else of a
# version is ever rewritten in place.
_VERSIONS = frozenset({"SELECT", "INSERT", "UPDATE (valid_to)", "DELETE"})

TABLES: Mapping[str, frozenset[str]] = {
    # Read by `trustline migrate --check` (the components' init containers wait for the schema's head).
    "alembic_version": frozenset({"SELECT"}),
    # Events are stored once and never rewritten.
    "raw_events": _READ_APPEND,
    "raw_event_keys": _READ_APPEND,
    # Written only by the owner's function that drops raw-event months.
    "raw_events_dropped": frozenset({"SELECT"}),
    "raw_events_dropped_sources": frozenset({"SELECT"}),
    "asset_versions": _VERSIONS,
    "vuln_cycle_versions": _VERSIONS,
    "edr_versions": _VERSIONS,
    "identity_versions": _VERSIONS,
    "mfa_factor_versions": _VERSIONS,
    "cloud_check_versions": _VERSIONS,
    "incident_versions": _VERSIONS,
    # Ingest appends the entities each batch touched; the aggregator leader deletes the rows it processed.
    "entity_changes": frozenset({"SELECT", "INSERT", "DELETE"}),
    # Catalog imports (CLI or the connector route) close a version and add one, or replace one at the
    # same instant.
    "kev_catalog_versions": _VERSIONS,
    # A snapshot replaces an earlier one at the same instant; pruning deletes old ones. A value interval
    # is closed when its series changes (or split when a backfill lands inside it); pruning deletes the
    # intervals no kept snapshot reads, and the series no interval names.
    "snapshots": frozenset({"SELECT", "INSERT", "DELETE"}),
    "metric_series": frozenset({"SELECT", "INSERT", "DELETE"}),
    "metric_values": frozenset({"SELECT", "INSERT", "DELETE", "UPDATE (valid_to)"}),
    # Acceptances change status; their audit trail is only ever appended to.
    "risk_acceptances": frozenset(
        {
            "SELECT",
            "INSERT",
            # A decision changes the status and who and when decided, never what was proposed.
            "UPDATE (status, approved_by, approved_at, rejected_by, rejected_at, revoked_by, revoked_at)",
        }
    ),
    "risk_acceptance_audit": _READ_APPEND,
    # Revoked and last used, never deleted; a key's principal, scopes and sources never change.
    "api_keys": frozenset({"SELECT", "INSERT", "UPDATE (revoked_at, last_used_at)"}),
    "demo_history": frozenset({"SELECT", "INSERT", "UPDATE (stored_at, backfilled_at)"}),
    # Operators' skip/quarantine decisions: read by the workers, kept for ever as their audit trail.
    "ingest_overrides": _READ_APPEND,
}
# An identity column draws from its sequence without any privilege on it.
SEQUENCES: Mapping[str, frozenset[str]] = {
    "risk_acceptance_audit_seq_seq": frozenset(),
    "metric_series_id_seq": frozenset(),
    "entity_changes_seq_seq": frozenset(),
}
FUNCTIONS: Mapping[str, frozenset[str]] = {
    "trustline_create_raw_events_partitions": frozenset({"EXECUTE"}),
    "trustline_drop_raw_events_partitions": frozenset({"EXECUTE"}),
    "trustline_append_only": frozenset(),  # a trigger function: nobody calls it
}


_ROLE = Query(
    "SELECT r.rolsuper, pg_has_role(r.oid, current_user, 'MEMBER') AS owner_member, "
    "r.rolname = current_user AS is_owner FROM pg_roles r WHERE r.rolname = :role"
)
_MAY_CREATE = Query("SELECT has_schema_privilege(:role, current_schema(), 'CREATE')")


class GrantError(RuntimeError):
    """The services' role cannot be confined as the map says."""


@dataclass
class GrantReport:
    """What applying the map did."""

    role: str
    tables: int = 0
    partitions: int = 0
    sequences: int = 0
    functions: int = 0
    unlisted: list[str] = field(default_factory=list)  # objects the map does not know: no privileges
    notes: list[str] = field(default_factory=list)  # why the role is not (fully) confined
    applied: bool = True

    def summary(self) -> str:
        """One line for `trustline migrate`."""
        if not self.applied:
            return f"privileges not applied: {'; '.join(self.notes)}"
        text = (
            f"privileges of {self.role}: {self.tables} tables, {self.sequences} sequences, "
            f"{self.functions} functions as listed in shared/grants.py; {self.partitions} partitions "
            "through their parents only"
        )
        if self.unlisted:
            text += f"; not in the map, so no access: {', '.join(self.unlisted)}"
        return "; ".join([text, *self.notes])


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _privileges(privileges: frozenset[str]) -> str:
    return ", ".join(sorted(privileges))


async def _check_role(conn: asyncpg.Connection, role: str, report: GrantReport, *, strict: bool) -> bool:
    """False when the role is the owner itself (nothing to confine); raises or notes what undermines it."""
    row = await fetchrow(conn, _ROLE, role=role)
    if row is None:
        raise GrantError(
            f"the services' role {role} does not exist: create it (CREATE ROLE {role} LOGIN PASSWORD '...') "
            "and run `trustline migrate` again"
        )
    problems = []
    if row["is_owner"]:
        problems.append(
            f"the services connect as the schema owner {role}: set TRUSTLINE_MIGRATION_DATABASE_URL to the "
            "owner and TRUSTLINE_DATABASE_URL to a role of its own"
        )
    elif row["rolsuper"]:
        problems.append(f"the services' role {role} is a superuser: privileges do not bind it")
    elif row["owner_member"]:
        problems.append(f"the services' role {role} is a member of the owner role and inherits its rights")
    if problems and strict:
        raise GrantError("; ".join(problems))
    report.notes.extend(problems)
    return not row["is_owner"]


async def _confine_schema(conn: asyncpg.Connection, role: str, report: GrantReport, *, strict: bool) -> None:
    schema = _ident(await conn.fetchval("SELECT current_schema()"))
    await conn.execute(f"REVOKE CREATE ON SCHEMA {schema} FROM {_ident(role)}")
    await conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {_ident(role)}")
    if not await fetchval(conn, _MAY_CREATE, role=role):
        return
    # Before PostgreSQL 15 everybody may create in `public`: take that away when we own the schema.
    if await conn.fetchval(
        "SELECT pg_has_role(current_user, nspowner, 'USAGE') FROM pg_namespace "
        "WHERE nspname = current_schema()"
    ):
        await conn.execute(f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC")
    if await fetchval(conn, _MAY_CREATE, role=role):
        problem = f"{role} may still create objects in schema {schema} (granted to PUBLIC by its owner)"
        if strict:
            raise GrantError(problem)
        report.notes.append(problem)


async def _relations(conn: asyncpg.Connection, report: GrantReport) -> None:
    role = _ident(report.role)
    rows = await conn.fetch(
        "SELECT c.oid::regclass::text AS ref, c.relname, c.relkind::text, c.relispartition FROM pg_class c "
        "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'S', 'v', 'm') "
        "ORDER BY c.relname"
    )
    for r in rows:
        sequence = r["relkind"] == "S"
        kind = "SEQUENCE" if sequence else "TABLE"
        await conn.execute(f"REVOKE ALL ON {kind} {r['ref']} FROM {role}")
        listed = (SEQUENCES if sequence else TABLES).get(r["relname"])
        if r["relispartition"]:
            report.partitions += 1
        elif listed is None:
            report.unlisted.append(r["relname"])
        else:
            if listed:
                await conn.execute(f"GRANT {_privileges(listed)} ON {kind} {r['ref']} TO {role}")
            report.sequences += sequence
            report.tables += not sequence


async def _functions(conn: asyncpg.Connection, report: GrantReport) -> None:
    role = _ident(report.role)
    rows = await conn.fetch(
        "SELECT p.oid::regprocedure::text AS ref, p.proname FROM pg_proc p "
        "WHERE p.pronamespace = current_schema()::regnamespace AND p.prokind = 'f' ORDER BY p.proname"
    )
    for r in rows:
        await conn.execute(f"REVOKE ALL ON FUNCTION {r['ref']} FROM {role}")
        listed = FUNCTIONS.get(r["proname"])
        if listed is None:
            report.unlisted.append(f"{r['proname']}()")
            continue
        report.functions += 1
        if listed:
            await conn.execute(f"REVOKE ALL ON FUNCTION {r['ref']} FROM PUBLIC")
            await conn.execute(f"GRANT {_privileges(listed)} ON FUNCTION {r['ref']} TO {role}")


async def apply_grants(conn: asyncpg.Connection, *, role: str, strict: bool) -> GrantReport:
    """Give `role` exactly the map's privileges on the current schema (run as the schema owner)."""
    report = GrantReport(role)
    async with conn.transaction():
        if not await _check_role(conn, role, report, strict=strict):
            report.applied = False
            return report
        await _confine_schema(conn, role, report, strict=strict)
        await _relations(conn, report)
        await _functions(conn, report)
    return report


_LOCK = Query("SELECT pg_advisory_lock(:lock)")


def apply(settings: Settings, *, lock: int | None = None) -> GrantReport:
    """Connect as the schema owner and apply the map to the services' role (strict in prod), holding the
    advisory `lock` when given (until the connection closes) so concurrent runs apply it one at a time."""

    async def main() -> GrantReport:
        conn = await connect_owner(settings)
        try:
            if lock is not None:
                await execute(conn, _LOCK, lock=lock)
            return await apply_grants(conn, role=settings.service_role(), strict=settings.env == "prod")
        finally:
            await conn.close()

    return asyncio.run(main())
