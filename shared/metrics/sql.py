"""SQL fragments every family shares; `$1` is always the instant T of the snapshot.

The metrics and the API drill-downs both build on these, so a list and the count it explains can
never disagree on what "covered", "open" or "accepted" means.
"""

from __future__ import annotations

from typing import Final

from trustline.shared.severity import SEVERITIES


def as_of(alias: str) -> str:
    """The version of each entity that holds at T."""
    return f"{alias}.valid_from <= $1 AND ({alias}.valid_to IS NULL OR {alias}.valid_to > $1)"


# Assets as the inventory knew them at T (absent: never heard of).
ASSETS_AT: Final = f"SELECT a.* FROM asset_versions a WHERE {as_of('a')}"

# Risk acceptances in force at T: approved, not yet expired, not revoked.
ACCEPTED_AT: Final = (
    "SELECT r.* FROM risk_acceptances r WHERE r.approved_at <= $1 AND r.expires_at > $1 "
    "AND (r.revoked_at IS NULL OR r.revoked_at > $1)"
)
# For an acceptance `r`: approved by T and no longer in force at T (expired or revoked).
ENDED_AT: Final = "r.approved_at <= $1 AND (r.expires_at <= $1 OR r.revoked_at <= $1)"
_RANKED: Final = "'{" + ",".join(reversed(SEVERITIES)) + "}'::text[]"  # info first, critical last


def within_ceiling(finding: str, acceptance: str) -> str:
    """The finding's severity is at or below the acceptance's: only then does the acceptance cover it."""
    return f"array_position({_RANKED}, {finding}) <= array_position({_RANKED}, {acceptance})"


def vulnerability_scope(r: str, c: str, business_unit: str) -> str:
    """Acceptance `r` names cycle `c`: its vulnerability, and its asset and business unit when it sets any."""
    return (
        f"{r}.vulnerability_id = {c}.vulnerability_id "
        f"AND ({r}.asset_id IS NULL OR {r}.asset_id = {c}.asset_id) "
        f"AND ({r}.business_unit IS NULL OR {r}.business_unit = {business_unit})"
    )


def check_scope(r: str, f: str) -> str:
    """Acceptance `r` names cloud check `f`: its control, and its resource when it sets one."""
    return (
        f"{r}.control_id = {f}.control_id AND ({r}.resource_id IS NULL OR {r}.resource_id = {f}.resource_id)"
    )


# Assets expected to run EDR at T, each with whether it is covered. $2: heartbeat max age (s),
# $3: inventory staleness (s).
EDR_EXPECTED_AT: Final = f"""
SELECT a.asset_id, a.hostname, a.kind, a.business_unit, a.os_family, a.last_seen,
       e.last_healthy_at, e.uninstalled_at,
       (e.last_healthy_at >= $1::timestamptz - make_interval(secs => $2::float8)
        AND (e.uninstalled_at IS NULL OR e.uninstalled_at <= e.last_healthy_at)) IS TRUE AS covered
FROM ({ASSETS_AT}) a
LEFT JOIN (SELECT e.* FROM edr_versions e WHERE {as_of("e")}) e ON e.asset_id = a.asset_id
WHERE NOT a.retired AND a.edr_required
  AND a.last_seen >= $1::timestamptz - make_interval(secs => $3::float8)
"""

# For an EDR version `e` at T (shadow IT): a healthy heartbeat within the max age ($2) from an asset the
# inventory has never observed.
EDR_UNKNOWN: Final = """
e.last_healthy_at >= $1::timestamptz - make_interval(secs => $2::float8)
AND NOT EXISTS (SELECT 1 FROM asset_versions a
                WHERE a.asset_id = e.asset_id AND a.valid_from <= $1 AND a.last_seen IS NOT NULL)
"""

# Active identities at T.
IDENTITIES_AT: Final = f"SELECT i.* FROM identity_versions i WHERE {as_of('i')} AND i.active"

# Per user, the factors enrolled at T; strong when any is phishing resistant ($2: those factor types).
FACTORS_AT: Final = f"""
SELECT f.user_id, bool_or(f.factor_type = ANY($2::text[])) AS strong,
       array_agg(DISTINCT f.factor_type ORDER BY f.factor_type) AS factor_types
FROM mfa_factor_versions f WHERE {as_of("f")} AND f.enrolled GROUP BY f.user_id
"""

# Open vulnerability cycles at T on assets not retired, as CTEs ending in `opened`. $2/$3: the SLA
# severities and their SLA in seconds. A cycle's business unit is its asset's at T (`unassigned` when the
# inventory does not know it); accepted when an acceptance in force names it (scoped by business unit too)
# and the cycle's severity at T is at or below the acceptance's: a re-rating above it ends the cover.
OPEN_CYCLES_CTES: Final = f"""
asset_at AS ({ASSETS_AT}),
accepted AS ({ACCEPTED_AT}),
sla AS (SELECT * FROM unnest($2::text[], $3::float8[]) AS s(severity, seconds)),
hits AS (
    SELECT DISTINCT c.asset_id, c.vulnerability_id, c.cycle
    FROM accepted r
    JOIN vuln_cycle_versions c ON c.vulnerability_id = r.vulnerability_id
    LEFT JOIN asset_at a ON a.asset_id = c.asset_id
    WHERE {as_of("c")} AND (c.remediated_at IS NULL OR c.remediated_at > $1)
      AND {vulnerability_scope("r", "c", "COALESCE(a.business_unit, 'unassigned')")}
      AND {within_ceiling("c.severity", "r.severity")}
),
opened AS (
    SELECT c.asset_id, c.vulnerability_id, c.cycle, c.detected_at, c.kev,
           COALESCE(a.business_unit, 'unassigned') AS business_unit, c.severity, s.seconds AS sla_seconds,
           h.cycle IS NOT NULL AS accepted, date_part('epoch', $1 - c.detected_at) AS age
    FROM vuln_cycle_versions c
    JOIN sla s ON s.severity = c.severity
    LEFT JOIN asset_at a ON a.asset_id = c.asset_id
    LEFT JOIN hits h
           ON h.asset_id = c.asset_id AND h.vulnerability_id = c.vulnerability_id AND h.cycle = c.cycle
    WHERE {as_of("c")} AND (c.remediated_at IS NULL OR c.remediated_at > $1)
      AND NOT COALESCE(a.retired, false)
)"""


def fresh_check(alias: str) -> str:
    """A cloud check version that counts at T: current, evaluated within $2 seconds, not muted, not info."""
    return (
        f"{as_of(alias)} AND {alias}.evaluated_at >= $1::timestamptz - make_interval(secs => $2::float8) "
        f"AND {alias}.status <> 'muted' AND {alias}.severity <> 'info'"
    )


# Failing fresh checks under an acceptance in force whose severity is at or above the check's at T (needs
# CTEs `fresh` and `accepted`).
ACCEPTED_CHECKS: Final = f"""
SELECT DISTINCT f.resource_id, f.control_id
FROM fresh f JOIN accepted r ON {check_scope("r", "f")}
WHERE f.status = 'fail' AND {within_ceiling("f.severity", "r.severity")}
"""

# Incidents at T that opened and have a severity counted in metrics ($2: those severities).
INCIDENTS_AT: Final = f"""
SELECT i.* FROM incident_versions i
WHERE {as_of("i")} AND i.opened_at IS NOT NULL AND i.severity = ANY($2::text[])
"""
