"""Vulnerability families: time to patch, remediations by SLA, open backlog, age and debt.

One statement reads the cycles once and groups them into a few hundred rows; Python then builds the
cumulative histogram buckets and the nested windows (7d within 30d within 90d).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from trustline.shared.policy import Policy
from trustline.shared.severity import SLA_SEVERITIES

from .samples import DURATION_BUCKETS, WINDOWS, Sample, histogram
from .sql import OPEN_CYCLES_CTES, as_of

_WINDOWS = sorted(WINDOWS.items(), key=lambda kv: kv[1])  # narrowest first
_AGE_BUCKETS = ("0-30d", "31-60d", "61-90d", "90d+")
_STATUSES = ("within_sla", "breached", "accepted")
# -bound for every histogram bound, ascending: width_bucket(-secs, ...) counts the bounds >= secs.
_NEG_BOUNDS = sorted(-float(b) for b in DURATION_BUCKETS)

# $1 T; $2/$3 severities and SLA seconds; $4 window lengths (narrowest first); $5 negated bucket bounds.
# Closed and open cycles are read separately (the closed ones through the remediated_at index); the few
# acceptances in force find their cycles through the vulnerability_id index.
VULNERABILITIES_SQL = f"""
WITH {OPEN_CYCLES_CTES},
closed AS (
    SELECT COALESCE(a.business_unit, 'unassigned') AS business_unit, c.severity, s.seconds AS sla_seconds,
           date_part('epoch', c.remediated_at - c.detected_at) AS secs,
           date_part('epoch', $1 - c.remediated_at) AS ago
    FROM vuln_cycle_versions c
    JOIN sla s ON s.severity = c.severity
    LEFT JOIN asset_at a ON a.asset_id = c.asset_id
    WHERE c.remediated_at <= $1
      AND c.remediated_at > $1::timestamptz - make_interval(secs => ($4::float8[])[3])
      AND {as_of("c")}
)
SELECT 'closed' AS part, business_unit, severity,
       CASE WHEN ago < ($4::float8[])[1] THEN 0 WHEN ago < ($4::float8[])[2] THEN 1 ELSE 2 END AS k1,
       width_bucket(-secs, $5::float8[]) AS k2, secs <= sla_seconds AS k3,
       count(*) AS n, sum(secs) AS total, NULL::float8 AS oldest
FROM closed GROUP BY 2, 3, 4, 5, 6
UNION ALL
SELECT 'open', business_unit, severity,
       CASE WHEN age < 31 * 86400 THEN 0 WHEN age < 61 * 86400 THEN 1 WHEN age < 91 * 86400 THEN 2 ELSE 3 END,
       CASE WHEN accepted THEN 2 WHEN age > sla_seconds THEN 1 ELSE 0 END, NULL,
       count(*), sum(greatest(0, age - sla_seconds)), max(age)
FROM opened GROUP BY 2, 3, 4, 5
"""


async def vulnerability_samples(conn: asyncpg.Connection, *, at: datetime, policy: Policy) -> list[Sample]:
    """Every vulnerability family as of `at`."""
    sev = list(SLA_SEVERITIES)
    sla = [policy.sla_days.days(s) * 86400.0 for s in SLA_SEVERITIES]
    windows = [float(seconds) for _, seconds in _WINDOWS]
    rows = await conn.fetch(VULNERABILITIES_SQL, at, sev, sla, windows, _NEG_BOUNDS)
    return remediation_samples([r for r in rows if r["part"] == "closed"]) + open_samples(
        [r for r in rows if r["part"] == "open"]
    )


@dataclass
class _Closed:
    n: int = 0
    met: int = 0
    total: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * len(DURATION_BUCKETS))


def remediation_samples(rows: Sequence[Any]) -> list[Sample]:
    """time_to_patch_seconds and patch_remediations: each group counts in its window and every wider one."""
    acc: dict[tuple[str, str, str], _Closed] = defaultdict(_Closed)
    for r in rows:
        for name, _ in _WINDOWS[r["k1"] :]:
            c = acc[(r["business_unit"], r["severity"], name)]
            c.n += r["n"]
            c.met += r["n"] if r["k3"] else 0
            c.total += r["total"]
            # k2 bounds are >= the duration: the largest k2 buckets count it (le is inclusive).
            for i in range(len(DURATION_BUCKETS) - r["k2"], len(DURATION_BUCKETS)):
                c.buckets[i] += r["n"]
    out: list[Sample] = []
    for (bu, severity, window), c in sorted(acc.items()):
        labels = {"business_unit": bu, "severity": severity, "window": window}
        out += histogram("trustline_time_to_patch_seconds", labels, c.buckets, c.n, c.total)
        out.append(Sample("trustline_patch_remediations", {**labels, "sla": "met"}, float(c.met)))
        out.append(Sample("trustline_patch_remediations", {**labels, "sla": "missed"}, float(c.n - c.met)))
    return out


@dataclass
class _Open:
    status: list[int] = field(default_factory=lambda: [0, 0, 0])
    ages: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    debt: float = 0.0
    oldest: float = 0.0


def open_samples(rows: Sequence[Any]) -> list[Sample]:
    """Open cycles by SLA status, backlog by age, security debt (accepted excluded) and the oldest age."""
    acc: dict[tuple[str, str], _Open] = defaultdict(_Open)
    for r in rows:
        o = acc[(r["business_unit"], r["severity"])]
        o.status[r["k2"]] += r["n"]
        o.ages[r["k1"]] += r["n"]
        o.debt += r["total"] if r["k2"] != 2 else 0.0
        o.oldest = max(o.oldest, r["oldest"])
    out: list[Sample] = []
    for (bu, severity), o in sorted(acc.items()):
        labels = {"business_unit": bu, "severity": severity}
        for status, n in zip(_STATUSES, o.status, strict=True):
            out.append(Sample("trustline_vulnerabilities_open", {**labels, "sla_status": status}, float(n)))
        for bucket, n in zip(_AGE_BUCKETS, o.ages, strict=True):
            out.append(Sample("trustline_vulnerability_backlog", {**labels, "age_bucket": bucket}, float(n)))
        out.append(Sample("trustline_security_debt_seconds", labels, o.debt))
        out.append(Sample("trustline_vulnerability_oldest_open_age_seconds", labels, o.oldest))
    return out
