"""What a proposed scope would cover right now, and what in it is rated above the proposed severity.

The registry's own small queries over the state tables, as of now, built from the aggregator's fragments
so that "open" and "fresh" cannot drift from what the metrics count: an open cycle is the version valid
now, not remediated, on an asset that is not retired; a fresh failing check is the version valid now,
evaluated within the staleness window, failing, not muted. `info` findings never count, as in every metric.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from trustline.shared.metrics.sql import as_of, check_staleness, fresh_check, open_cycle, unit_of
from trustline.shared.policy import Policy
from trustline.shared.severity import SLA_SEVERITIES
from trustline.shared.sql import Query, fetchrow

from .models import Coverage, Findings, Scope

# :severities the counted ones, :covered those at or below the proposed severity; a NULL scope part is any.
_VULNERABILITIES = Query(f"""
SELECT count(*) FILTER (WHERE c.severity = ANY(:covered_severities::text[])) AS covered,
       count(*) FILTER (WHERE NOT c.severity = ANY(:covered_severities::text[])) AS exceeding
FROM vuln_cycle_versions c
LEFT JOIN asset_versions a ON a.asset_id = c.asset_id AND {as_of("a")}
WHERE c.vulnerability_id = :vulnerability_id AND (:asset_id::text IS NULL OR c.asset_id = :asset_id)
  AND {open_cycle("c", "a")}
  AND (:business_unit::text IS NULL OR {unit_of("a")} = :business_unit)
  AND c.severity = ANY(:severities::text[])
""")

_CLOUD_CHECKS = Query(f"""
SELECT count(*) FILTER (WHERE c.severity = ANY(:covered_severities::text[])) AS covered,
       count(*) FILTER (WHERE NOT c.severity = ANY(:covered_severities::text[])) AS exceeding
FROM cloud_check_versions c
WHERE c.control_id = :control_id AND (:resource_id::text IS NULL OR c.resource_id = :resource_id)
  AND {fresh_check("c")}
  AND c.status = 'fail' AND c.severity = ANY(:severities::text[])
""")


def at_or_below(severity: str) -> list[str]:
    """The counted severities an acceptance of `severity` covers (critical > high > medium > low)."""
    return list(SLA_SEVERITIES[SLA_SEVERITIES.index(severity) :])


async def measure(
    conn: asyncpg.Connection, *, scope: Scope, severity: str, now: datetime, policy: Policy
) -> Coverage:
    """How many open findings (or failing checks) in `scope` an acceptance of `severity` covers now."""
    values: dict[str, object]
    kind: Findings
    if scope.vulnerability_id is not None:
        kind, query = "vulnerabilities", _VULNERABILITIES
        values = {
            "vulnerability_id": scope.vulnerability_id,
            "asset_id": scope.asset_id,
            "business_unit": scope.business_unit,
        }
    else:
        kind, query = "cloud_checks", _CLOUD_CHECKS
        values = {
            "control_id": scope.control_id,
            "resource_id": scope.resource_id,
            "check_stale_after": check_staleness(policy),
        }
    counted, covered = list(SLA_SEVERITIES), at_or_below(severity)
    row = await fetchrow(conn, query, at=now, severities=counted, covered_severities=covered, **values)
    assert row is not None  # an aggregate without GROUP BY always answers one row
    return Coverage(as_of=now, findings=kind, covered=row["covered"], exceeding=row["exceeding"])


def warnings(coverage: Coverage, severity: str) -> list[str]:
    """What a proposer should know before asking for approval; none of it blocks the proposal."""
    what = "open findings" if coverage.findings == "vulnerabilities" else "failing checks"
    out = []
    if coverage.covered == 0:
        out.append(f"the scope covers no {what} rated {severity} or lower right now")
    if coverage.exceeding:
        out.append(
            f"{coverage.exceeding} {what} in scope are rated above {severity}: "
            "this acceptance would not cover them"
        )
    return out
