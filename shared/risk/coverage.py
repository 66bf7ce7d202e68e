"""What a proposed scope would cover right now, and what in it is rated above the proposed severity.

The registry's own small queries over the state tables, as of now. "Open" and "fresh" mean what the
aggregator means by them: an open cycle is the version valid now, not remediated, on an asset that is not
retired; a fresh failing check is the version valid now, evaluated within the staleness window, failing,
not muted. `info` findings never count, as in every metric.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from trustline.shared.policy import Policy
from trustline.shared.severity import SLA_SEVERITIES

from .models import Coverage, Findings, Scope

# $1 now, $2 vulnerability, $3 asset or NULL, $4 business unit or NULL, $5 counted severities, $6 covered.
_VULNERABILITIES = """
SELECT count(*) FILTER (WHERE c.severity = ANY($6::text[])) AS covered,
       count(*) FILTER (WHERE NOT c.severity = ANY($6::text[])) AS exceeding
FROM vuln_cycle_versions c
LEFT JOIN asset_versions a
       ON a.asset_id = c.asset_id AND a.valid_from <= $1 AND (a.valid_to IS NULL OR a.valid_to > $1)
WHERE c.vulnerability_id = $2 AND ($3::text IS NULL OR c.asset_id = $3)
  AND c.valid_from <= $1 AND (c.valid_to IS NULL OR c.valid_to > $1)
  AND (c.remediated_at IS NULL OR c.remediated_at > $1)
  AND NOT COALESCE(a.retired, false)
  AND ($4::text IS NULL OR COALESCE(a.business_unit, 'unassigned') = $4)
  AND c.severity = ANY($5::text[])
"""

# $1 now, $2 control, $3 resource or NULL, $4 staleness (s), $5 counted severities, $6 covered.
_CLOUD_CHECKS = """
SELECT count(*) FILTER (WHERE c.severity = ANY($6::text[])) AS covered,
       count(*) FILTER (WHERE NOT c.severity = ANY($6::text[])) AS exceeding
FROM cloud_check_versions c
WHERE c.control_id = $2 AND ($3::text IS NULL OR c.resource_id = $3)
  AND c.valid_from <= $1 AND (c.valid_to IS NULL OR c.valid_to > $1)
  AND c.evaluated_at >= $1::timestamptz - make_interval(secs => $4::float8)
  AND c.status = 'fail' AND c.severity = ANY($5::text[])
"""


def at_or_below(severity: str) -> list[str]:
    """The counted severities an acceptance of `severity` covers (critical > high > medium > low)."""
    return list(SLA_SEVERITIES[SLA_SEVERITIES.index(severity) :])


async def measure(
    conn: asyncpg.Connection, *, scope: Scope, severity: str, now: datetime, policy: Policy
) -> Coverage:
    """How many open findings (or failing checks) in `scope` an acceptance of `severity` covers now."""
    counted, covered = list(SLA_SEVERITIES), at_or_below(severity)
    kind: Findings
    if scope.vulnerability_id is not None:
        row = await conn.fetchrow(
            _VULNERABILITIES,
            now,
            scope.vulnerability_id,
            scope.asset_id,
            scope.business_unit,
            counted,
            covered,
        )
        kind = "vulnerabilities"
    else:
        stale = policy.cloud_check_stale_after.total_seconds()
        row = await conn.fetchrow(
            _CLOUD_CHECKS, now, scope.control_id, scope.resource_id, stale, counted, covered
        )
        kind = "cloud_checks"
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
