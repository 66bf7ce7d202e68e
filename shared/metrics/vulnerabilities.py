"""Vulnerability families: time to patch, remediations by SLA, open backlog, age and debt, and the open
findings of known-exploited vulnerabilities against their catalog due date.

One statement reads the cycles once and groups them into a few hundred rows; Python then builds the
cumulative histogram buckets and the nested windows (7d within 30d within 90d). The known-exploited
family has its own statement, which starts from the catalog: it reads only the cycles of catalog
vulnerabilities, so the live snapshot can afford to run it whole every time.
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
    ACCEPTED_AT,
    ASSETS_AT,
    ESTATE,
    KEV_AT,
    WINDOW_NAMES,
    WINDOW_SECONDS,
    Entities,
    as_of,
    kev_deadline,
    open_cycle,
    open_cycles_ctes,
    severity_sla,
    unit_of,
    vulnerability_scope,
    within_ceiling,
)

_AGE_BUCKETS = ("0-30d", "31-60d", "61-90d", "90d+")
_STATUSES = ("within_sla", "breached", "accepted")
# -bound for every histogram bound, ascending: width_bucket(-secs, ...) counts the bounds >= secs.
_NEG_BOUNDS = sorted(-float(b) for b in DURATION_BUCKETS)


# Closed and open cycles are read separately (the closed ones through the remediated_at index); the few
# acceptances in force find their cycles through the vulnerability_id index. Each branch of the union has
# its own columns (`closed_*`, `open_*`; NULL in the other branch's rows): `part` only says which is set.
# :window_seconds the windows narrowest first; :negated_bounds every histogram bound negated, ascending.
# Per open group, the earliest detection and the cycles past their SLA let the live snapshot move the
# oldest age and the debt with the clock between two recomputations of an entity.
def vulnerabilities_sql(ent: Entities = ESTATE) -> str:
    """The statement of every vulnerability family (per entity as `ent` says)."""
    return f"""
WITH {open_cycles_ctes(ent)},
closed AS (
    SELECT {ent.columns("c")}{unit_of("a")} AS business_unit, c.severity, s.seconds AS sla_seconds,
           date_part('epoch', c.remediated_at - c.detected_at) AS secs,
           date_part('epoch', :at - c.remediated_at) AS ago
    FROM vuln_cycle_versions c
    JOIN sla s ON s.severity = c.severity
    LEFT JOIN asset_at a ON a.asset_id = c.asset_id
    WHERE c.remediated_at <= :at
      AND c.remediated_at > :at::timestamptz - make_interval(secs => (:window_seconds::float8[])[3])
      AND {as_of("c")}{ent.where("c")}
)
SELECT 'closed' AS part, {ent.columns()}business_unit, severity,
       CASE WHEN ago < (:window_seconds::float8[])[1] THEN 0
            WHEN ago < (:window_seconds::float8[])[2] THEN 1 ELSE 2 END AS closed_window,
       width_bucket(-secs, :negated_bounds::float8[]) AS closed_bounds_at_or_above,
       secs <= sla_seconds AS closed_within_sla,
       count(*) AS closed_cycles, sum(secs) AS closed_seconds,
       NULL::int AS open_age_bucket, NULL::int AS open_status, NULL::bigint AS open_cycles,
       NULL::float8 AS open_debt_seconds, NULL::float8 AS open_oldest_age,
       NULL::timestamptz AS open_oldest_detected, NULL::bigint AS open_past_sla
FROM closed
GROUP BY {ent.columns()}business_unit, severity, closed_window, closed_bounds_at_or_above, closed_within_sla
UNION ALL
SELECT 'open' AS part, {ent.columns()}business_unit, severity,
       NULL::int AS closed_window, NULL::int AS closed_bounds_at_or_above, NULL::bool AS closed_within_sla,
       NULL::bigint AS closed_cycles, NULL::float8 AS closed_seconds,
       CASE WHEN age < 31 * 86400 THEN 0 WHEN age < 61 * 86400 THEN 1 WHEN age < 91 * 86400 THEN 2
            ELSE 3 END AS open_age_bucket,
       CASE WHEN accepted THEN 2 WHEN age > sla_seconds THEN 1 ELSE 0 END AS open_status,
       count(*) AS open_cycles, sum(greatest(0, age - sla_seconds)) AS open_debt_seconds,
       max(age) AS open_oldest_age, min(detected_at) AS open_oldest_detected,
       count(*) FILTER (WHERE age > sla_seconds) AS open_past_sla
FROM opened GROUP BY {ent.columns()}business_unit, severity, open_age_bucket, open_status
"""


VULNERABILITIES_SQL = Query(vulnerabilities_sql())


async def vulnerability_samples(conn: asyncpg.Connection, *, at: datetime, policy: Policy) -> list[Sample]:
    """Every vulnerability family as of `at`."""
    rows = await fetch(conn, VULNERABILITIES_SQL, at=at, **params(policy))
    return samples(rows)


def params(policy: Policy) -> dict[str, object]:
    """The policy-given parameters of the vulnerability statement (all but `:at`)."""
    return {**severity_sla(policy), "window_seconds": list(WINDOW_SECONDS), "negated_bounds": _NEG_BOUNDS}


def samples(rows: Sequence[Any]) -> list[Sample]:
    """Every vulnerability family from the statement's rows (closed and open parts)."""
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
        # Each breached cycle adds a second of debt per second; the oldest open cycle ages with the clock.
        out.append(Sample("trustline_security_debt_seconds", labels, o.debt, slope=float(o.status[1])))
        out.append(Sample("trustline_vulnerability_oldest_open_age_seconds", labels, o.oldest, slope=1.0))
    return out


# Open cycles of the vulnerabilities in the known-exploited catalog at T (through the vulnerability_id
# index), by business unit and status: accepted as for vulnerabilities_open, breached once T is past the
# earlier of the catalog's due date and the severity SLA.
KEV_SQL = Query(f"""
WITH kev_at AS ({KEV_AT}),
accepted AS ({ACCEPTED_AT}),
sla AS (SELECT * FROM unnest(:severities::text[], :sla_seconds::float8[]) AS s(severity, seconds)),
opened AS (
    SELECT {unit_of("a")} AS business_unit, c.detected_at, s.seconds AS sla_seconds, k.due_date,
           EXISTS (SELECT 1 FROM accepted r
                   WHERE {vulnerability_scope("r", "c", unit_of("a"))}
                     AND {within_ceiling("c.severity", "r.severity")}) AS accepted
    FROM kev_at k
    JOIN vuln_cycle_versions c ON c.vulnerability_id = k.vulnerability_id
    JOIN sla s ON s.severity = c.severity
    LEFT JOIN ({ASSETS_AT}) a ON a.asset_id = c.asset_id
    WHERE {open_cycle("c", "a")}
)
SELECT o.business_unit,
       CASE WHEN o.accepted THEN 2 WHEN :at > {kev_deadline("o", "o")} THEN 1 ELSE 0 END AS open_kev_status,
       count(*) AS open_cycles
FROM opened o GROUP BY 1, 2
""")


async def kev_samples(conn: asyncpg.Connection, *, at: datetime, policy: Policy) -> list[Sample]:
    """kev_vulnerabilities_open as of `at`: every status of a unit that has any, so a count that drops
    to zero shows as 0, not as a vanished series."""
    acc: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in await fetch(conn, KEV_SQL, at=at, **severity_sla(policy)):
        acc[r["business_unit"]][r["open_kev_status"]] += r["open_cycles"]
    return [
        Sample("trustline_kev_vulnerabilities_open", {"business_unit": bu, "sla_status": status}, float(n))
        for bu, counts in sorted(acc.items())
        for status, n in zip(_STATUSES, counts, strict=True)
    ]
