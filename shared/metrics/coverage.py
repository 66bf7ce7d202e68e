"""Coverage families: EDR on expected assets, unknown EDR assets, identities and their MFA."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from trustline.shared.policy import Policy
from trustline.shared.sql import Query, fetch, fetchrow

from .samples import Sample
from .sql import EDR_EXPECTED_AT, EDR_UNKNOWN, FACTORS_AT, IDENTITIES_AT, as_of, edr_ages

EDR_SQL = Query(f"""
WITH expected AS ({EDR_EXPECTED_AT})
SELECT business_unit, os_family, count(*) AS expected, count(*) FILTER (WHERE covered) AS covered
FROM expected GROUP BY business_unit, os_family
""")

# Healthy heartbeats within the max age from assets the inventory has never observed (shadow IT).
UNKNOWN_SQL = Query(f"""
SELECT count(*) FILTER (WHERE {EDR_UNKNOWN}) AS unknown, count(*) AS sensors
FROM edr_versions e WHERE {as_of("e")}
""")

IDENTITIES_SQL = Query(f"""
WITH ident AS ({IDENTITIES_AT}), factors AS ({FACTORS_AT})
SELECT i.business_unit, CASE WHEN i.privileged THEN 'privileged' ELSE 'standard' END AS population,
       count(*) AS total,
       count(*) FILTER (WHERE f.strong) AS phishing_resistant,
       count(*) FILTER (WHERE NOT f.strong) AS other
FROM ident i LEFT JOIN factors f ON f.user_id = i.user_id
GROUP BY 1, 2
""")


async def coverage_samples(conn: asyncpg.Connection, *, at: datetime, policy: Policy) -> list[Sample]:
    """EDR expected/covered, unknown EDR assets, identities and identities with MFA, as of `at`."""
    out: list[Sample] = []
    ages = edr_ages(policy)
    for r in await fetch(conn, EDR_SQL, at=at, **ages):
        labels = {"business_unit": r["business_unit"], "os_family": r["os_family"]}
        out.append(Sample("trustline_edr_assets_expected", labels, float(r["expected"])))
        out.append(Sample("trustline_edr_assets_covered", labels, float(r["covered"])))
    unknown = await fetchrow(conn, UNKNOWN_SQL, at=at, heartbeat_max_age=ages["heartbeat_max_age"])
    if unknown is not None and unknown["sensors"]:
        out.append(Sample("trustline_edr_unknown_assets", {}, float(unknown["unknown"])))
    strong = list(policy.phishing_resistant_factors)
    for r in await fetch(conn, IDENTITIES_SQL, at=at, phishing_resistant_factors=strong):
        labels = {"business_unit": r["business_unit"], "population": r["population"]}
        out.append(Sample("trustline_identities", labels, float(r["total"])))
        for strength in ("phishing_resistant", "other"):
            out.append(
                Sample("trustline_identities_mfa", {**labels, "strength": strength}, float(r[strength]))
            )
    return out
