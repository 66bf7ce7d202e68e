"""Vulnerability families: time to patch, remediations by SLA, open backlog, age and debt."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from trustline.shared.policy import Policy
from trustline.shared.severity import SLA_SEVERITIES

from .samples import DURATION_BUCKETS, WINDOWS, Sample, histogram
from .sql import ACCEPTED_AT, ASSETS_AT, as_of

_MAX_WINDOW = max(WINDOWS.values())

# Cycles as of T: each cycle's version at T, its asset's business unit at T, and whether a risk
# acceptance in force at T covers it. $2/$3: severities and their SLA in seconds.
_CYCLES_AT = f"""
WITH asset_at AS ({ASSETS_AT}),
accepted AS ({ACCEPTED_AT}),
sla AS (SELECT * FROM unnest($2::text[], $3::float8[]) AS s(severity, seconds)),
cyc AS (
    SELECT c.severity, c.detected_at, c.remediated_at, s.seconds AS sla_seconds,
           COALESCE(a.business_unit, 'unassigned') AS business_unit, COALESCE(a.retired, false) AS retired,
           EXISTS (SELECT 1 FROM accepted r WHERE r.vulnerability_id = c.vulnerability_id
                   AND (r.asset_id IS NULL OR r.asset_id = c.asset_id)
                   AND (r.business_unit IS NULL OR r.business_unit = COALESCE(a.business_unit, 'unassigned')))
               AS accepted
    FROM vuln_cycle_versions c
    JOIN sla s ON s.severity = c.severity
    LEFT JOIN asset_at a ON a.asset_id = c.asset_id
    WHERE {as_of("c")}
      AND (c.remediated_at IS NULL OR c.remediated_at > $1 - interval '{_MAX_WINDOW} seconds')
)
"""
_BUCKETS_SQL = ", ".join(
    f"count(*) FILTER (WHERE d.secs <= {le}) AS b{i}" for i, le in enumerate(DURATION_BUCKETS)
)

REMEDIATIONS_SQL = (
    _CYCLES_AT
    + f"""
SELECT business_unit, severity, w.name AS window, count(*) AS n, sum(d.secs) AS total_seconds,
       count(*) FILTER (WHERE d.secs <= sla_seconds) AS met, {_BUCKETS_SQL}
FROM cyc
CROSS JOIN unnest($4::text[], $5::float8[]) AS w(name, seconds)
CROSS JOIN LATERAL (SELECT extract(epoch FROM cyc.remediated_at - cyc.detected_at)::float8 AS secs) d
WHERE cyc.remediated_at <= $1 AND cyc.remediated_at > $1 - make_interval(secs => w.seconds)
GROUP BY business_unit, severity, w.name
"""
)

OPEN_SQL = (
    _CYCLES_AT
    + """
SELECT business_unit, severity,
       count(*) FILTER (WHERE accepted) AS accepted,
       count(*) FILTER (WHERE NOT accepted AND a.secs <= sla_seconds) AS within_sla,
       count(*) FILTER (WHERE NOT accepted AND a.secs > sla_seconds) AS breached,
       count(*) FILTER (WHERE a.days <= 30) AS age_0_30,
       count(*) FILTER (WHERE a.days BETWEEN 31 AND 60) AS age_31_60,
       count(*) FILTER (WHERE a.days BETWEEN 61 AND 90) AS age_61_90,
       count(*) FILTER (WHERE a.days > 90) AS age_90_plus,
       COALESCE(sum(greatest(0, (a.secs - sla_seconds) / 86400.0)) FILTER (WHERE NOT accepted), 0)
           AS debt_days,
       max(a.secs) AS oldest_seconds
FROM cyc
CROSS JOIN LATERAL (
    SELECT extract(epoch FROM $1 - cyc.detected_at)::float8 AS secs,
           floor(extract(epoch FROM $1 - cyc.detected_at) / 86400)::bigint AS days
) a
WHERE NOT cyc.retired AND (cyc.remediated_at IS NULL OR cyc.remediated_at > $1)
GROUP BY business_unit, severity
"""
)


async def vulnerability_samples(conn: asyncpg.Connection, *, at: datetime, policy: Policy) -> list[Sample]:
    """Every vulnerability family as of `at`."""
    sev = list(SLA_SEVERITIES)
    sla = [policy.sla_days.days(s) * 86400.0 for s in SLA_SEVERITIES]
    windows = [float(v) for v in WINDOWS.values()]
    remediated = await conn.fetch(REMEDIATIONS_SQL, at, sev, sla, list(WINDOWS), windows)
    open_ = await conn.fetch(OPEN_SQL, at, sev, sla)
    return remediation_samples(remediated) + open_samples(open_)


def remediation_samples(rows: Sequence[Any]) -> list[Sample]:
    """time_to_patch_seconds and patch_remediations from the per (bu, severity, window) rows."""
    out: list[Sample] = []
    for r in rows:
        labels = {"business_unit": r["business_unit"], "severity": r["severity"], "window": r["window"]}
        counts = [r[f"b{i}"] for i in range(len(DURATION_BUCKETS))]
        out += histogram("trustline_time_to_patch_seconds", labels, counts, r["n"], r["total_seconds"])
        out.append(Sample("trustline_patch_remediations", {**labels, "sla": "met"}, float(r["met"])))
        out.append(
            Sample("trustline_patch_remediations", {**labels, "sla": "missed"}, float(r["n"] - r["met"]))
        )
    return out


_AGE_BUCKETS = (
    ("0-30d", "age_0_30"),
    ("31-60d", "age_31_60"),
    ("61-90d", "age_61_90"),
    ("90d+", "age_90_plus"),
)


def open_samples(rows: Sequence[Any]) -> list[Sample]:
    """Open cycles by SLA status, backlog by age, security debt and the oldest open age."""
    out: list[Sample] = []
    for r in rows:
        labels = {"business_unit": r["business_unit"], "severity": r["severity"]}
        for status in ("within_sla", "breached", "accepted"):
            out.append(
                Sample("trustline_vulnerabilities_open", {**labels, "sla_status": status}, float(r[status]))
            )
        for bucket, col in _AGE_BUCKETS:
            out.append(
                Sample("trustline_vulnerability_backlog", {**labels, "age_bucket": bucket}, float(r[col]))
            )
        out.append(Sample("trustline_security_debt_days", labels, float(r["debt_days"])))
        out.append(
            Sample("trustline_vulnerability_oldest_open_age_seconds", labels, float(r["oldest_seconds"]))
        )
    return out
