"""Vulnerability families: time to patch, remediations by SLA, open backlog, age and debt."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from trustline.shared.policy import Policy
from trustline.shared.severity import SLA_SEVERITIES

from .samples import DURATION_BUCKETS, WINDOWS, Sample, histogram

# Cycles as of $1: the version valid at $1 of each cycle, with its asset's business unit at $1.
_CYCLES_AT = """
WITH asset_at AS (
    SELECT asset_id, business_unit, retired FROM asset_versions
    WHERE valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1)
), sla AS (
    SELECT * FROM unnest($2::text[], $3::float8[]) AS s(severity, seconds)
), cyc AS (
    SELECT c.severity, c.detected_at, c.remediated_at, s.seconds AS sla_seconds,
           COALESCE(a.business_unit, 'unassigned') AS business_unit, COALESCE(a.retired, false) AS retired
    FROM vuln_cycle_versions c
    JOIN sla s ON s.severity = c.severity
    LEFT JOIN asset_at a ON a.asset_id = c.asset_id
    WHERE c.valid_from <= $1 AND (c.valid_to IS NULL OR c.valid_to > $1)
      AND (c.remediated_at IS NULL OR c.remediated_at > $1 - interval '{max_window} seconds')
)
"""
_BUCKETS_SQL = ", ".join(
    f"count(*) FILTER (WHERE d.secs <= {le}) AS b{i}" for i, le in enumerate(DURATION_BUCKETS)
)
_MAX_WINDOW = max(WINDOWS.values())

REMEDIATIONS_SQL = (
    _CYCLES_AT.format(max_window=_MAX_WINDOW)
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
    _CYCLES_AT.format(max_window=_MAX_WINDOW)
    + """
SELECT business_unit, severity,
       count(*) AS n,
       count(*) FILTER (WHERE a.secs > sla_seconds) AS breached,
       count(*) FILTER (WHERE a.days <= 30) AS age_0_30,
       count(*) FILTER (WHERE a.days BETWEEN 31 AND 60) AS age_31_60,
       count(*) FILTER (WHERE a.days BETWEEN 61 AND 90) AS age_61_90,
       count(*) FILTER (WHERE a.days > 90) AS age_90_plus,
       sum(greatest(0, (a.secs - sla_seconds) / 86400.0)) AS debt_days,
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


def _sla_args(policy: Policy) -> tuple[list[str], list[float]]:
    return list(SLA_SEVERITIES), [policy.sla_days.days(s) * 86400.0 for s in SLA_SEVERITIES]


async def vulnerability_samples(conn: asyncpg.Connection, *, at: datetime, policy: Policy) -> list[Sample]:
    """Every vulnerability family as of `at`."""
    sev, sla = _sla_args(policy)
    remediated = await conn.fetch(
        REMEDIATIONS_SQL, at, sev, sla, list(WINDOWS), [float(v) for v in WINDOWS.values()]
    )
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


def open_samples(rows: Sequence[Any]) -> list[Sample]:
    """Open cycles by SLA status, backlog by age, security debt and the oldest open age."""
    out: list[Sample] = []
    for r in rows:
        labels = {"business_unit": r["business_unit"], "severity": r["severity"]}
        # No risk acceptance is registered yet, so nothing is accepted: 0 is the exact count.
        for status, n in (
            ("within_sla", r["n"] - r["breached"]),
            ("breached", r["breached"]),
            ("accepted", 0),
        ):
            out.append(Sample("trustline_vulnerabilities_open", {**labels, "sla_status": status}, float(n)))
        for bucket, col in (
            ("0-30d", "age_0_30"),
            ("31-60d", "age_31_60"),
            ("61-90d", "age_61_90"),
            ("90d+", "age_90_plus"),
        ):
            out.append(
                Sample("trustline_vulnerability_backlog", {**labels, "age_bucket": bucket}, float(r[col]))
            )
        out.append(Sample("trustline_security_debt_days", labels, float(r["debt_days"])))
        out.append(
            Sample("trustline_vulnerability_oldest_open_age_seconds", labels, float(r["oldest_seconds"]))
        )
    return out
