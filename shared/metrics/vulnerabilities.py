"""Vulnerability families: time to patch, remediations by SLA, open backlog, age and debt, and the open
findings of known-exploited vulnerabilities against their catalog due date.

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
from trustline.shared.sql import Query, fetch

from .samples import DURATION_BUCKETS, Sample, histogram
from .sql import (
    KEV_AT,
    OPEN_CYCLES_CTES,
    WINDOW_NAMES,
    WINDOW_SECONDS,
    as_of,
    kev_deadline,
    severity_sla,
    unit_of,
)

_AGE_BUCKETS = ("0-30d", "31-60d", "61-90d", "90d+")
_STATUSES = ("within_sla", "breached", "accepted")
# -bound for every histogram bound, ascending: width_bucket(-secs, ...) counts the bounds >= secs.
_NEG_BOUNDS = sorted(-float(b) for b in DURATION_BUCKETS)

# Closed and open cycles are read separately (the closed ones through the remediated_at index); the few
# acceptances in force find their cycles through the vulnerability_id index. Each branch of the union has
# its own columns (`closed_*`, `open_*`; NULL in the other branch's rows): `part` only says which is set.
# An open cycle whose vulnerability is in the known-exploited catalog at T also has `open_kev_status`
# (NULL otherwise): breached once T is past the earlier of the catalog's due date and the severity SLA.
# :window_seconds the windows narrowest first; :negated_bounds every histogram bound negated, ascending.
VULNERABILITIES_SQL = Query(f"""
WITH {OPEN_CYCLES_CTES},
kev_at AS ({KEV_AT}),
closed AS (
    SELECT {unit_of("a")} AS business_unit, c.severity, s.seconds AS sla_seconds,
           date_part('epoch', c.remediated_at - c.detected_at) AS secs,
           date_part('epoch', :at - c.remediated_at) AS ago
    FROM vuln_cycle_versions c
    JOIN sla s ON s.severity = c.severity
    LEFT JOIN asset_at a ON a.asset_id = c.asset_id
    WHERE c.remediated_at <= :at
      AND c.remediated_at > :at::timestamptz - make_interval(secs => (:window_seconds::float8[])[3])
      AND {as_of("c")}
)
SELECT 'closed' AS part, business_unit, severity,
       CASE WHEN ago < (:window_seconds::float8[])[1] THEN 0
            WHEN ago < (:window_seconds::float8[])[2] THEN 1 ELSE 2 END AS closed_window,
       width_bucket(-secs, :negated_bounds::float8[]) AS closed_bounds_at_or_above,
       secs <= sla_seconds AS closed_within_sla,
       count(*) AS closed_cycles, sum(secs) AS closed_seconds,
       NULL::int AS open_age_bucket, NULL::int AS open_status, NULL::int AS open_kev_status,
       NULL::bigint AS open_cycles, NULL::float8 AS open_debt_seconds, NULL::float8 AS open_oldest_age
FROM closed GROUP BY business_unit, severity, closed_window, closed_bounds_at_or_above, closed_within_sla
UNION ALL
SELECT 'open' AS part, business_unit, severity,
       NULL::int AS closed_window, NULL::int AS closed_bounds_at_or_above, NULL::bool AS closed_within_sla,
       NULL::bigint AS closed_cycles, NULL::float8 AS closed_seconds,
       CASE WHEN age < 31 * 86400 THEN 0 WHEN age < 61 * 86400 THEN 1 WHEN age < 91 * 86400 THEN 2
            ELSE 3 END AS open_age_bucket,
       CASE WHEN accepted THEN 2 WHEN age > sla_seconds THEN 1 ELSE 0 END AS open_status,
       CASE WHEN k.vulnerability_id IS NULL THEN NULL WHEN accepted THEN 2
            WHEN :at > {kev_deadline("o", "k")} THEN 1 ELSE 0 END AS open_kev_status,
       count(*) AS open_cycles, sum(greatest(0, age - sla_seconds)) AS open_debt_seconds,
       max(age) AS open_oldest_age
FROM opened o LEFT JOIN kev_at k ON k.vulnerability_id = o.vulnerability_id
GROUP BY business_unit, severity, open_age_bucket, open_status, open_kev_status
""")


async def vulnerability_samples(conn: asyncpg.Connection, *, at: datetime, policy: Policy) -> list[Sample]:
    """Every vulnerability family as of `at`."""
    rows = await fetch(
        conn,
        VULNERABILITIES_SQL,
        at=at,
        **severity_sla(policy),
        window_seconds=list(WINDOW_SECONDS),
        negated_bounds=_NEG_BOUNDS,
    )
    opened = [r for r in rows if r["part"] == "open"]
    return [
        *remediation_samples([r for r in rows if r["part"] == "closed"]),
        *open_samples(opened),
        *kev_samples(opened),
    ]


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
        n = r["closed_cycles"]
        for name in WINDOW_NAMES[r["closed_window"] :]:
            c = acc[(r["business_unit"], r["severity"], name)]
            c.n += n
            c.met += n if r["closed_within_sla"] else 0
            c.total += r["closed_seconds"]
            # That many bounds are >= the duration: the largest ones count it (le is inclusive).
            for i in range(len(DURATION_BUCKETS) - r["closed_bounds_at_or_above"], len(DURATION_BUCKETS)):
                c.buckets[i] += n
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
        o.status[r["open_status"]] += r["open_cycles"]
        o.ages[r["open_age_bucket"]] += r["open_cycles"]
        o.debt += r["open_debt_seconds"] if _STATUSES[r["open_status"]] != "accepted" else 0.0
        o.oldest = max(o.oldest, r["open_oldest_age"])
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


def kev_samples(rows: Sequence[Any]) -> list[Sample]:
    """kev_vulnerabilities_open: open cycles of catalog vulnerabilities by unit and status (every status of
    a unit that has any, so a count that drops to zero shows as 0, not as a vanished series)."""
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        if r["open_kev_status"] is not None:
            acc[r["business_unit"]][r["open_kev_status"]] += r["open_cycles"]
    return [
        Sample("trustline_kev_vulnerabilities_open", {"business_unit": bu, "sla_status": status}, float(n))
        for bu, counts in sorted(acc.items())
        for status, n in zip(_STATUSES, counts, strict=True)
    ]
