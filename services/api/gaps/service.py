"""Drill-downs: the rows behind the gaps the metrics count, read with the metric SQL fragments of
`trustline.shared.metrics`.

Each list is the population of one metric at T (same as-of predicates, policy ages, acceptance matching),
so its `total` equals that metric in the snapshot at T.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

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
    KEV_AT,
    OPEN_CYCLES_CTES,
    as_of,
    check_scope,
    check_staleness,
    edr_ages,
    fresh_check,
    kev_deadline,
    severity_sla,
    vulnerability_scope,
)
from trustline.shared.policy import Policy
from trustline.shared.severity import SLA_SEVERITIES
from trustline.shared.sql import Fragment, Query, fetch, fetchval

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


def _uncovered_reason(scope: str) -> Fragment:
    """Why no acceptance covers a finding at T (needs CTE `accepted`); `scope` matches an acceptance `r`.

    In force and in scope yet not covering: the finding's severity exceeds the acceptance's.
    """
    return Fragment(
        f"CASE WHEN EXISTS (SELECT 1 FROM accepted r WHERE {scope}) THEN 'acceptance_severity_exceeded'\n"
        f"     WHEN EXISTS (SELECT 1 FROM risk_acceptances r WHERE {ENDED_AT} AND {scope})\n"
        "          THEN 'acceptance_ended'\n"
        "     ELSE 'no_acceptance' END",
        needs=ENDED_AT.needs,
    )


async def resolve_at(*, conn: asyncpg.Connection, at: datetime | None) -> datetime:
    """The instant to read: `at` if given, else the latest snapshot's (what /metrics shows), else now."""
    if at is not None:
        return at
    latest = await store.latest_at(conn)
    return latest if latest is not None else datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Slice:
    """Which page of a drill-down to read, and as of which instant."""

    at: datetime
    limit: int
    offset: int


class _Listing(Generic[Item]):
    """One drill-down: its population at `:at` (with its filters), paged in a fixed order with its total."""

    def __init__(self, model: type[Item], population: str, *, order: str) -> None:
        self.model = model
        # `order` is one of this module's own ORDER BY lists, never a caller's: it is part of the text.
        page = f"SELECT *, count(*) OVER () AS total_ FROM ({population}) m ORDER BY {order}"
        self.page_sql = Query(f"{page} LIMIT :limit OFFSET :offset")
        self.count_sql = Query(f"SELECT count(*) FROM ({population}) m")

    async def read(self, conn: asyncpg.Connection, *, page: Slice, filters: Mapping[str, Any]) -> Page[Item]:
        """One page of the rows at `page.at` with their total count, in one pass over the population."""
        at, limit, offset = page.at, page.limit, page.offset
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            rows = await fetch(conn, self.page_sql, at=at, limit=limit, offset=offset, **filters)
            # Past the last page no row carries the total: count once more (same view) for the answer.
            total = rows[0]["total_"] if rows else await fetchval(conn, self.count_sql, at=at, **filters)
        items = [self.model(**{k: v for k, v in r.items() if k != "total_"}) for r in rows]
        return Page[self.model](  # type: ignore[name-defined]
            as_of=at, total=total, limit=limit, offset=offset, items=items
        )


# A NULL :business_unit or :os_family is any.
_EDR_UNCOVERED = _Listing(
    EdrUncovered,
    f"""
SELECT asset_id, hostname, business_unit, os_family, kind, last_seen,
       last_healthy_at AS last_healthy_heartbeat, uninstalled_at,
       CASE WHEN uninstalled_at IS NOT NULL AND (last_healthy_at IS NULL OR uninstalled_at > last_healthy_at)
                 THEN 'uninstalled'
            WHEN last_healthy_at IS NULL THEN 'no_sensor'
            ELSE 'stale_heartbeat' END AS reason
FROM ({EDR_EXPECTED_AT}) x
WHERE NOT covered AND (:business_unit::text IS NULL OR business_unit = :business_unit)
  AND (:os_family::text IS NULL OR os_family = :os_family)
""",
    order="business_unit, asset_id",
)


async def edr_uncovered(
    *,
    conn: asyncpg.Connection,
    page: Slice,
    policy: Policy,
    business_unit: str | None,
    os_family: str | None,
) -> Page[EdrUncovered]:
    """Assets expected to run EDR (edr_assets_expected) but not covered at `at`."""
    filters = {**edr_ages(policy), "business_unit": business_unit, "os_family": os_family}
    return await _EDR_UNCOVERED.read(conn, page=page, filters=filters)


_EDR_UNKNOWN = _Listing(
    EdrUnknown,
    f"""
SELECT e.asset_id, e.last_healthy_at AS last_healthy_heartbeat
FROM edr_versions e WHERE {as_of("e")} AND {EDR_UNKNOWN}
""",
    order="asset_id",
)


async def edr_unknown(*, conn: asyncpg.Connection, page: Slice, policy: Policy) -> Page[EdrUnknown]:
    """Healthy sensors on assets the inventory has never observed (edr_unknown_assets)."""
    filters = {"heartbeat_max_age": edr_ages(policy)["heartbeat_max_age"]}
    return await _EDR_UNKNOWN.read(conn, page=page, filters=filters)


# :privileged the population; :require_phishing_resistant also lists those whose factors are all weak; a
# NULL :business_unit is any.
_IDENTITY_GAPS = _Listing(
    IdentityGap,
    f"""
SELECT i.user_id, i.business_unit,
       CASE WHEN i.privileged THEN 'privileged' ELSE 'standard' END AS population,
       COALESCE(f.factor_types, '{{}}'::text[]) AS factors
FROM ({IDENTITIES_AT}) i LEFT JOIN ({FACTORS_AT}) f ON f.user_id = i.user_id
WHERE i.privileged = :privileged
  AND (f.user_id IS NULL OR (:require_phishing_resistant::bool AND NOT f.strong))
  AND (:business_unit::text IS NULL OR i.business_unit = :business_unit)
""",
    order="business_unit, user_id",
)


async def identities_without_mfa(
    *,
    conn: asyncpg.Connection,
    page: Slice,
    policy: Policy,
    population: str,
    phishing_resistant: bool,
    business_unit: str | None,
) -> Page[IdentityGap]:
    """Active identities with no factor at all, or with no phishing-resistant one when asked."""
    filters = {
        "phishing_resistant_factors": list(policy.phishing_resistant_factors),
        "privileged": population == "privileged",
        "require_phishing_resistant": phishing_resistant,
        "business_unit": business_unit,
    }
    return await _IDENTITY_GAPS.read(conn, page=page, filters=filters)


# A NULL :business_unit or :severity is any.
# :kev lists instead the open cycles of known-exploited vulnerabilities (the catalog at T) past the earlier
# of their catalog due date and severity SLA, overdue from that deadline (kev_vulnerabilities_open, breached).
_PAST_SLA = _Listing(
    VulnerabilityPastSla,
    f"""
WITH {OPEN_CYCLES_CTES},
kev_at AS ({KEV_AT}),
listed AS (
    SELECT o.*, k.due_date AS kev_due_date,
           CASE WHEN :kev::bool THEN date_part('epoch', :at - {kev_deadline("o", "k")})
                ELSE o.age - o.sla_seconds END AS overdue_seconds
    FROM opened o LEFT JOIN kev_at k ON k.vulnerability_id = o.vulnerability_id
    WHERE NOT o.accepted AND (NOT :kev::bool OR k.vulnerability_id IS NOT NULL)
)
SELECT o.asset_id, o.vulnerability_id, o.severity, o.kev OR o.kev_due_date IS NOT NULL AS kev, o.kev_due_date,
       o.business_unit, o.detected_at, o.age AS age_seconds, (o.sla_seconds / 86400)::int AS sla_days,
       o.overdue_seconds, {_uncovered_reason(vulnerability_scope("r", "o", "o.business_unit"))} AS reason
FROM listed o
WHERE o.overdue_seconds > 0
  AND (:business_unit::text IS NULL OR o.business_unit = :business_unit)
  AND (:severity::text IS NULL OR o.severity = :severity)
""",
    order="overdue_seconds DESC, asset_id, vulnerability_id",
)


async def vulnerabilities_past_sla(
    *,
    conn: asyncpg.Connection,
    page: Slice,
    policy: Policy,
    business_unit: str | None,
    severity: str | None,
    kev: bool = False,
) -> Page[VulnerabilityPastSla]:
    """Open, not accepted cycles past SLA (vulnerabilities_open, breached), most overdue first; with `kev`,
    known-exploited ones past their catalog deadline (kev_vulnerabilities_open, breached)."""
    filters = {**severity_sla(policy), "business_unit": business_unit, "severity": severity, "kev": kev}
    return await _PAST_SLA.read(conn, page=page, filters=filters)


# :include_accepted also lists failing checks under an acceptance; a NULL :provider or :severity is any.
_FAILING_CHECKS = _Listing(
    FailingCheck,
    f"""
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
WHERE f.status = 'fail' AND (:include_accepted::bool OR h.control_id IS NULL)
  AND (:provider::text IS NULL OR f.provider = :provider)
  AND (:severity::text IS NULL OR f.severity = :severity)
""",
    order=f"{_SEVERITY_RANK}, control_id, resource_id",
)


async def cloud_checks_failing(
    *,
    conn: asyncpg.Connection,
    page: Slice,
    policy: Policy,
    provider: str | None,
    severity: str | None,
    include_accepted: bool,
) -> Page[FailingCheck]:
    """Fresh, not muted failing checks (cloud_config_checks{status="fail"}; accepted ones on request)."""
    filters = {
        "check_stale_after": check_staleness(policy),
        "include_accepted": include_accepted,
        "provider": provider,
        "severity": severity,
    }
    return await _FAILING_CHECKS.read(conn, page=page, filters=filters)


# A NULL :severity is any.
_OPEN_INCIDENTS = _Listing(
    OpenIncident,
    f"""
SELECT incident_id, severity, opened_at, acknowledged_at, contained_at, restored_at,
       date_part('epoch', :at - opened_at) AS age_seconds
FROM ({INCIDENTS_AT}) i
WHERE resolved_at IS NULL AND (:severity::text IS NULL OR severity = :severity)
""",
    order=f"{_SEVERITY_RANK}, opened_at, incident_id",
)


async def incidents_open(
    *, conn: asyncpg.Connection, page: Slice, severity: str | None
) -> Page[OpenIncident]:
    """Incidents opened and not resolved at `at` (incidents_open), most severe and oldest first."""
    filters = {"severities": list(SLA_SEVERITIES), "severity": severity}
    return await _OPEN_INCIDENTS.read(conn, page=page, filters=filters)
