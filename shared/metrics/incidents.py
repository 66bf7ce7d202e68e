"""Incident families: time to acknowledge, contain, restore and resolve; open incidents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from trustline.shared.severity import SLA_SEVERITIES
from trustline.shared.sql import Fragment, Query, fetch

from .samples import DURATION_BUCKETS, Sample, histogram
from .sql import ESTATE, WINDOW_NAMES, WINDOW_SECONDS, Entities, incidents_at


def _stages_ctes(ent: Entities) -> Fragment:
    """Incidents as of T with a known, non-info severity, and the stages each reached (restore falls back
    to resolve when no restore came), as CTEs `inc` and `stages`."""
    inc = incidents_at(ent)
    return Fragment(
        f"""
WITH inc AS ({inc}),
stages AS (
    SELECT inc.incident_id, inc.severity, inc.opened_at, s.stage, s.at
    FROM inc CROSS JOIN LATERAL (VALUES ('acknowledge', inc.acknowledged_at), ('contain', inc.contained_at),
                                        ('restore', COALESCE(inc.restored_at, inc.resolved_at)),
                                        ('resolve', inc.resolved_at)) AS s(stage, at)
    WHERE s.at IS NOT NULL
)
""",
        needs=inc.needs,
    )


_BUCKETS_SQL = ", ".join(
    f"count(*) FILTER (WHERE d.secs <= {le}) AS b{i}" for i, le in enumerate(DURATION_BUCKETS)
)


# A stage before its opening is a data-quality error: left out of the durations and counted instead.
def durations_sql(ent: Entities = ESTATE) -> str:
    """Opening to each stage, per window the stage time is in (per entity as `ent` says)."""
    return f"""{_stages_ctes(ent)}
SELECT {ent.columns()}severity, stage, w.name AS window, count(*) AS n, sum(d.secs) AS total_seconds,
       {_BUCKETS_SQL}
FROM stages
CROSS JOIN unnest(:window_names::text[], :window_seconds::float8[]) AS w(name, seconds)
CROSS JOIN LATERAL (SELECT date_part('epoch', stages.at - stages.opened_at) AS secs) d
WHERE stages.at >= stages.opened_at AND stages.at > :at::timestamptz - make_interval(secs => w.seconds)
GROUP BY {ent.columns()}severity, stage, w.name
"""


def errors_sql(ent: Entities = ESTATE) -> str:
    """Stages dated before their incident's opening."""
    return f"""{_stages_ctes(ent)}
SELECT {ent.columns()}stage, count(*) AS n FROM stages WHERE at < opened_at GROUP BY {ent.columns()}stage
"""


def open_sql(ent: Entities = ESTATE) -> str:
    """Incidents opened and not resolved, per severity (every severity with an incident has a row)."""
    return f"""{_stages_ctes(ent)}
SELECT {ent.columns()}severity, count(*) FILTER (WHERE resolved_at IS NULL) AS open
FROM inc GROUP BY {ent.columns()}severity
"""


DURATIONS_SQL = Query(durations_sql())
ERRORS_SQL = Query(errors_sql())
OPEN_SQL = Query(open_sql())


async def incident_samples(conn: asyncpg.Connection, *, at: datetime) -> list[Sample]:
    """incident_duration_seconds, incidents_open and the stage-order errors, as of `at`."""
    sev = list(SLA_SEVERITIES)
    windows = {"window_names": list(WINDOW_NAMES), "window_seconds": list(WINDOW_SECONDS)}
    return [
        *duration_samples(await fetch(conn, DURATIONS_SQL, at=at, severities=sev, **windows)),
        *open_samples(await fetch(conn, OPEN_SQL, at=at, severities=sev)),
        *error_samples(await fetch(conn, ERRORS_SQL, at=at, severities=sev)),
    ]


def open_samples(rows: Sequence[Any]) -> list[Sample]:
    """incidents_open per severity."""
    return [Sample("trustline_incidents_open", {"severity": r["severity"]}, float(r["open"])) for r in rows]


def error_samples(rows: Sequence[Any]) -> list[Sample]:
    """incident_stage_errors per stage."""
    return [Sample("trustline_incident_stage_errors", {"stage": r["stage"]}, float(r["n"])) for r in rows]


def duration_samples(rows: Sequence[Any]) -> list[Sample]:
    """One histogram series per (severity, stage, window)."""
    out: list[Sample] = []
    for r in rows:
        labels = {"severity": r["severity"], "stage": r["stage"], "window": r["window"]}
        counts = [r[f"b{i}"] for i in range(len(DURATION_BUCKETS))]
        out += histogram("trustline_incident_duration_seconds", labels, counts, r["n"], r["total_seconds"])
    return out
