"""Coverage families: EDR on expected assets, unknown EDR assets, identities and their MFA."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from trustline.shared.policy import Policy
from trustline.shared.sql import Query, fetch

from .samples import Sample
from .sql import EDR_UNKNOWN, ESTATE, Entities, as_of, edr_ages, edr_expected_at, factors_at, identities_at


def edr_sql(ent: Entities = ESTATE) -> str:
    """Expected and covered assets by business unit and OS family (per entity as `ent` says)."""
    return f"""
WITH expected AS ({edr_expected_at(ent)})
SELECT {ent.columns()}business_unit, os_family,
       count(*) AS expected, count(*) FILTER (WHERE covered) AS covered
FROM expected GROUP BY {ent.columns()}business_unit, os_family
"""


def unknown_sql(ent: Entities = ESTATE) -> str:
    """Healthy heartbeats within the max age from assets the inventory has never observed (shadow IT)."""
    return f"""
SELECT {ent.columns("e")}count(*) FILTER (WHERE {EDR_UNKNOWN}) AS unknown, count(*) AS sensors
FROM edr_versions e WHERE {as_of("e")}{ent.where("e")}
GROUP BY {ent.grouping("e")}
"""


def identities_sql(ent: Entities = ESTATE) -> str:
    """Active identities by business unit and population, with their strongest enrolled factor."""
    return f"""
WITH ident AS ({identities_at(ent)}), factors AS ({factors_at(ent)})
SELECT {ent.columns("i")}i.business_unit,
       CASE WHEN i.privileged THEN 'privileged' ELSE 'standard' END AS population,
       count(*) AS total,
       count(*) FILTER (WHERE f.strong) AS phishing_resistant,
       count(*) FILTER (WHERE NOT f.strong) AS other
FROM ident i LEFT JOIN factors f ON f.user_id = i.user_id
GROUP BY {ent.keys("i")}i.business_unit, population
"""


EDR_SQL = Query(edr_sql())
UNKNOWN_SQL = Query(unknown_sql())
IDENTITIES_SQL = Query(identities_sql())


async def coverage_samples(conn: asyncpg.Connection, *, at: datetime, policy: Policy) -> list[Sample]:
    """EDR expected/covered, unknown EDR assets, identities and identities with MFA, as of `at`."""
    ages = edr_ages(policy)
    strong = list(policy.phishing_resistant_factors)
    return [
        *edr_samples(await fetch(conn, EDR_SQL, at=at, **ages)),
        *unknown_samples(await fetch(conn, UNKNOWN_SQL, at=at, heartbeat_max_age=ages["heartbeat_max_age"])),
        *identity_samples(await fetch(conn, IDENTITIES_SQL, at=at, phishing_resistant_factors=strong)),
    ]


def edr_samples(rows: Sequence[Any]) -> list[Sample]:
    """edr_assets_expected and edr_assets_covered, one pair per (business unit, OS family)."""
    out: list[Sample] = []
    for r in rows:
        labels = {"business_unit": r["business_unit"], "os_family": r["os_family"]}
        out.append(Sample("trustline_edr_assets_expected", labels, float(r["expected"])))
        out.append(Sample("trustline_edr_assets_covered", labels, float(r["covered"])))
    return out


def unknown_samples(rows: Sequence[Any]) -> list[Sample]:
    """edr_unknown_assets, present once any sensor reports."""
    return [Sample("trustline_edr_unknown_assets", {}, float(r["unknown"])) for r in rows if r["sensors"]]


def identity_samples(rows: Sequence[Any]) -> list[Sample]:
    """identities and identities_mfa by strength."""
    out: list[Sample] = []
    for r in rows:
        labels = {"business_unit": r["business_unit"], "population": r["population"]}
        out.append(Sample("trustline_identities", labels, float(r["total"])))
        for strength in ("phishing_resistant", "other"):
            out.append(
                Sample("trustline_identities_mfa", {**labels, "strength": strength}, float(r[strength]))
            )
    return out
