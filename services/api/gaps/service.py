"""Drill-downs: the rows behind the gaps the metrics count, read with the aggregator's own SQL fragments.

Each list is the population of one metric at T (same as-of predicates, policy ages, acceptance matching),
so its `total` equals that metric in the snapshot at T.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
from pydantic import BaseModel

from trustline.shared.metrics import store
from trustline.shared.metrics.sql import (
    ACCEPTED_AT,
    ACCEPTED_CHECKS,
    EDR_EXPECTED_AT,
    EDR_UNKNOWN,
    ENDED_AT,
    FACTORS_AT,
    IDENTITIES_AT,
    INCIDENTS_AT,
    OPEN_CYCLES_CTES,
    as_of,
    check_scope,
    fresh_check,
    vulnerability_scope,
)
from trustline.shared.policy import Policy
from trustline.shared.severity import SLA_SEVERITIES

from .schemas import (
    EdrUncovered,
    EdrUnknown,
    FailingCheck,
    IdentityGap,
    OpenIncident,
    Page,
    VulnerabilityPastSla,
)

Item = TypeVar("Item", bound=BaseModel)
# Most severe first.
_SEVERITY_RANK = "array_position('{critical,high,medium,low}'::text[], severity)"


def _uncovered_reason(scope: str) -> str:
    """Why no acceptance covers a finding at T (needs CTE `accepted`); `scope` matches an acceptance `r`.

    In force and in scope yet not covering: the finding's severity exceeds the acceptance's.
    """
    return (
        f"CASE WHEN EXISTS (SELECT 1 FROM accepted r WHERE {scope}) THEN 'acceptance_severity_exceeded'\n"
        f"     WHEN EXISTS (SELECT 1 FROM risk_acceptances r WHERE {ENDED_AT} AND {scope})\n"
        "          THEN 'acceptance_ended'\n"
        "     ELSE 'no_acceptance' END"
    )


async def resolve_at(*, conn: asyncpg.Connection, at: datetime | None) -> datetime:
    """The instant to read: `at` if given, else the latest snapshot's (what /metrics shows), else now."""
    if at is not None:
        return at
    latest = await store.latest_at(conn)
    return latest if latest is not None else datetime.now(UTC)


async def _page(
    model: type[Item],
    *,
    conn: asyncpg.Connection,
    at: datetime,
    sql: str,
    args: Sequence[Any],
    order: str,
    limit: int,
    offset: int,
) -> Page[Item]:
    """Read one page of the matching rows with their total count, in one pass over the population."""
    n = len(args)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        rows = await conn.fetch(
            f"SELECT *, count(*) OVER () AS total_ FROM ({sql}) m "
            f"ORDER BY {order} LIMIT ${n + 1} OFFSET ${n + 2}",
            *args,
            limit,
            offset,
        )
        # Past the last page no row carries the total: count once more (same view) for the answer.
        total = rows[0]["total_"] if rows else await conn.fetchval(f"SELECT count(*) FROM ({sql}) m", *args)
    items = [model(**{k: v for k, v in r.items() if k != "total_"}) for r in rows]
    return Page[model](  # type: ignore[valid-type]
        as_of=at, total=total, limit=limit, offset=offset, items=items
    )


# $4 business unit, $5 OS family (NULL: any).
_EDR_UNCOVERED = f"""
SELECT asset_id, hostname, business_unit, os_family, kind, last_seen,
       last_healthy_at AS last_healthy_heartbeat, uninstalled_at,
       CASE WHEN uninstalled_at IS NOT NULL AND (last_healthy_at IS NULL OR uninstalled_at > last_healthy_at)
                 THEN 'uninstalled'
            WHEN last_healthy_at IS NULL THEN 'no_sensor'
            ELSE 'stale_heartbeat' END AS reason
FROM ({EDR_EXPECTED_AT}) x
WHERE NOT covered AND ($4::text IS NULL OR business_unit = $4) AND ($5::text IS NULL OR os_family = $5)
"""


async def edr_uncovered(
    *,
    conn: asyncpg.Connection,
    at: datetime,
    policy: Policy,
    business_unit: str | None,
    os_family: str | None,
    limit: int,
    offset: int,
) -> Page[EdrUncovered]:
    """Assets expected to run EDR (edr_assets_expected) but not covered at `at`."""
    args = (
        at,
        policy.edr_heartbeat_max_age.total_seconds(),
        policy.inventory_stale_after.total_seconds(),
        business_unit,
        os_family,
    )
    return await _page(
        EdrUncovered,
        conn=conn,
        at=at,
        sql=_EDR_UNCOVERED,
        args=args,
        order="business_unit, asset_id",
        limit=limit,
        offset=offset,
    )


_EDR_UNKNOWN = f"""
SELECT e.asset_id, e.last_healthy_at AS last_healthy_heartbeat
FROM edr_versions e WHERE {as_of("e")} AND {EDR_UNKNOWN}
"""


async def edr_unknown(
    *, conn: asyncpg.Connection, at: datetime, policy: Policy, limit: int, offset: int
) -> Page[EdrUnknown]:
    """Healthy sensors on assets the inventory has never observed (edr_unknown_assets)."""
    args = (at, policy.edr_heartbeat_max_age.total_seconds())
    return await _page(
        EdrUnknown,
        conn=conn,
        at=at,
        sql=_EDR_UNKNOWN,
        args=args,
        order="asset_id",
        limit=limit,
        offset=offset,
    )


# $3 privileged?, $4 phishing resistant wanted?, $5 business unit (NULL: any).
_IDENTITY_GAPS = f"""
SELECT i.user_id, i.business_unit,
       CASE WHEN i.privileged THEN 'privileged' ELSE 'standard' END AS population,
       COALESCE(f.factor_types, '{{}}'::text[]) AS factors
FROM ({IDENTITIES_AT}) i LEFT JOIN ({FACTORS_AT}) f ON f.user_id = i.user_id
WHERE i.privileged = $3 AND (f.user_id IS NULL OR ($4::bool AND NOT f.strong))
  AND ($5::text IS NULL OR i.business_unit = $5)
"""


async def identities_without_mfa(
    *,
    conn: asyncpg.Connection,
    at: datetime,
    policy: Policy,
    population: str,
    phishing_resistant: bool,
    business_unit: str | None,
    limit: int,
    offset: int,
) -> Page[IdentityGap]:
    """Active identities with no factor at all, or with no phishing-resistant one when asked."""
    args = (
        at,
        list(policy.phishing_resistant_factors),
        population == "privileged",
        phishing_resistant,
        business_unit,
    )
    return await _page(
        IdentityGap,
        conn=conn,
        at=at,
        sql=_IDENTITY_GAPS,
        args=args,
        order="business_unit, user_id",
        limit=limit,
        offset=offset,
    )


# $4 business unit, $5 severity (NULL: any).
_PAST_SLA = f"""
WITH {OPEN_CYCLES_CTES}
SELECT o.asset_id, o.vulnerability_id, o.severity, o.kev, o.business_unit, o.detected_at,
       o.age AS age_seconds, (o.sla_seconds / 86400)::int AS sla_days,
       o.age - o.sla_seconds AS overdue_seconds,
       {_uncovered_reason(vulnerability_scope("r", "o", "o.business_unit"))} AS reason
FROM opened o
WHERE NOT o.accepted AND o.age > o.sla_seconds
  AND ($4::text IS NULL OR o.business_unit = $4) AND ($5::text IS NULL OR o.severity = $5)
"""


async def vulnerabilities_past_sla(
    *,
    conn: asyncpg.Connection,
    at: datetime,
    policy: Policy,
    business_unit: str | None,
    severity: str | None,
    limit: int,
    offset: int,
) -> Page[VulnerabilityPastSla]:
    """Open, not accepted cycles past SLA (vulnerabilities_open, breached), most overdue first."""
    sla = [policy.sla_days.days(s) * 86400.0 for s in SLA_SEVERITIES]
    args = (at, list(SLA_SEVERITIES), sla, business_unit, severity)
    return await _page(
        VulnerabilityPastSla,
        conn=conn,
        at=at,
        sql=_PAST_SLA,
        args=args,
        order="overdue_seconds DESC, asset_id, vulnerability_id",
        limit=limit,
        offset=offset,
    )


# $3 include accepted?, $4 provider, $5 severity (NULL: any).
_FAILING_CHECKS = f"""
WITH accepted AS ({ACCEPTED_AT}),
fresh AS (
    SELECT c.resource_id, c.control_id, c.provider, c.severity, c.status, c.account, c.region, c.framework,
           c.evaluated_at
    FROM cloud_check_versions c WHERE {fresh_check("c")}
),
hits AS ({ACCEPTED_CHECKS})
SELECT f.resource_id, f.control_id, f.provider, f.severity, f.account, f.region, f.framework, f.evaluated_at,
       h.control_id IS NOT NULL AS accepted,
       CASE WHEN h.control_id IS NULL THEN {_uncovered_reason(check_scope("r", "f"))} END AS reason
FROM fresh f LEFT JOIN hits h USING (resource_id, control_id)
WHERE f.status = 'fail' AND ($3::bool OR h.control_id IS NULL)
  AND ($4::text IS NULL OR f.provider = $4) AND ($5::text IS NULL OR f.severity = $5)
"""


async def cloud_checks_failing(
    *,
    conn: asyncpg.Connection,
    at: datetime,
    policy: Policy,
    provider: str | None,
    severity: str | None,
    include_accepted: bool,
    limit: int,
    offset: int,
) -> Page[FailingCheck]:
    """Fresh, not muted failing checks (cloud_config_checks{status="fail"}; accepted ones on request)."""
    args = (at, policy.cloud_check_stale_after.total_seconds(), include_accepted, provider, severity)
    return await _page(
        FailingCheck,
        conn=conn,
        at=at,
        sql=_FAILING_CHECKS,
        args=args,
        order=f"{_SEVERITY_RANK}, control_id, resource_id",
        limit=limit,
        offset=offset,
    )


# $3 severity (NULL: any).
_OPEN_INCIDENTS = f"""
SELECT incident_id, severity, opened_at, acknowledged_at, contained_at, restored_at,
       date_part('epoch', $1 - opened_at) AS age_seconds
FROM ({INCIDENTS_AT}) i
WHERE resolved_at IS NULL AND ($3::text IS NULL OR severity = $3)
"""


async def incidents_open(
    *, conn: asyncpg.Connection, at: datetime, severity: str | None, limit: int, offset: int
) -> Page[OpenIncident]:
    """Incidents opened and not resolved at `at` (incidents_open), most severe and oldest first."""
    args = (at, list(SLA_SEVERITIES), severity)
    return await _page(
        OpenIncident,
        conn=conn,
        at=at,
        sql=_OPEN_INCIDENTS,
        args=args,
        order=f"{_SEVERITY_RANK}, opened_at, incident_id",
        limit=limit,
        offset=offset,
    )
