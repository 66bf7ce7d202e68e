"""Cloud configuration checks and the risk-acceptance registry."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, get_args

import asyncpg

from trustline.shared.policy import Policy
from trustline.shared.risk.models import Status
from trustline.shared.sql import Query, fetch

from .samples import Sample
from .sql import ACCEPTED_AT, ACCEPTED_CHECKS, ESTATE, Entities, check_staleness, fresh_check


def checks_sql(ent: Entities = ESTATE) -> str:
    """Muted and stale checks drop out; a failing check under an acceptance counts as accepted."""
    return f"""
WITH accepted AS ({ACCEPTED_AT}),
fresh AS MATERIALIZED (
    SELECT c.resource_id, c.control_id, c.provider, c.severity, c.status
    FROM cloud_check_versions c WHERE {fresh_check("c")}{ent.where("c")}
),
hits AS ({ACCEPTED_CHECKS}),
chk AS (
    SELECT f.resource_id, f.control_id, f.provider, f.severity,
           CASE WHEN h.control_id IS NULL THEN f.status ELSE 'accepted' END AS status
    FROM fresh f LEFT JOIN hits h USING (resource_id, control_id)
)
SELECT {ent.columns()}provider, severity,
       count(*) FILTER (WHERE status = 'pass') AS pass,
       count(*) FILTER (WHERE status = 'fail') AS fail,
       count(*) FILTER (WHERE status = 'accepted') AS accepted
FROM chk GROUP BY {ent.columns()}provider, severity
"""


CHECKS_SQL = Query(checks_sql())

# The registry as it stood at T, read from the decision timestamps.
RISK_SQL = Query("""
SELECT CASE WHEN rejected_at <= :at THEN 'rejected'
            WHEN approved_at <= :at AND revoked_at <= :at THEN 'revoked'
            WHEN approved_at <= :at AND expires_at <= :at THEN 'expired'
            WHEN approved_at <= :at THEN 'approved'
            ELSE 'proposed' END AS status,
       count(*) AS n,
       count(*) FILTER (WHERE approved_at <= :at AND (revoked_at IS NULL OR revoked_at > :at)
                        AND expires_at > :at
                        AND expires_at <= :at::timestamptz + make_interval(secs => 604800))
           AS expiring
FROM risk_acceptances WHERE created_at <= :at
GROUP BY 1
""")
RISK_STATUSES: Final[tuple[Status, ...]] = get_args(Status)


async def posture_samples(conn: asyncpg.Connection, *, at: datetime, policy: Policy) -> list[Sample]:
    """cloud_config_checks, risk_acceptances and risk_acceptances_expiring_7d as of `at`."""
    checks = await fetch(conn, CHECKS_SQL, at=at, check_stale_after=check_staleness(policy))
    return check_samples(checks) + await risk_samples(conn, at=at)


def check_samples(rows: Sequence[Any]) -> list[Sample]:
    """cloud_config_checks by provider, severity and status."""
    out: list[Sample] = []
    for r in rows:
        labels = {"provider": r["provider"], "severity": r["severity"]}
        for status in ("pass", "fail", "accepted"):
            out.append(
                Sample("trustline_cloud_config_checks", {**labels, "status": status}, float(r[status]))
            )
    return out


async def risk_samples(conn: asyncpg.Connection, *, at: datetime) -> list[Sample]:
    """risk_acceptances and risk_acceptances_expiring_7d: the registry is small, read whole every time."""
    out: list[Sample] = []
    rows = {r["status"]: r for r in await fetch(conn, RISK_SQL, at=at)}
    if rows:
        for status in RISK_STATUSES:
            n = rows[status]["n"] if status in rows else 0
            out.append(Sample("trustline_risk_acceptances", {"status": status}, float(n)))
        expiring = sum(r["expiring"] for r in rows.values())
        out.append(Sample("trustline_risk_acceptances_expiring_7d", {}, float(expiring)))
    return out
