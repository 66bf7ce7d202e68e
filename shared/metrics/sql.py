"""SQL fragments every family shares, each with the named parameters it binds.

The metrics, the API drill-downs and the registry's coverage all build on these, so a list and the count
it explains can never disagree on what "covered", "open", "fresh" or "accepted" means. A name means one
thing wherever it appears:

- `:at` the instant T (timestamptz);
- `:heartbeat_max_age`, `:inventory_stale_after`, `:check_stale_after` policy ages in seconds (float8);
- `:phishing_resistant_factors` the factor types that make MFA strong (text[]);
- `:severities` the severities metrics count, most severe first (text[]), and `:sla_seconds` the SLA of
  each, in the same order (float8[]);
- `:window_seconds` the lengths of the metric windows, narrowest first (float8[]), and `:window_names`
  their names in the same order (text[]).

`edr_ages`, `severity_sla` and `check_staleness` give those values from a policy.
"""

from __future__ import annotations

from typing import Final

from trustline.shared.policy import Policy
from trustline.shared.severity import SEVERITIES, SLA_SEVERITIES
from trustline.shared.sql import Fragment

from .samples import WINDOWS

_NARROWEST_FIRST: Final = sorted(WINDOWS.items(), key=lambda kv: kv[1])
WINDOW_NAMES: Final = tuple(name for name, _ in _NARROWEST_FIRST)
WINDOW_SECONDS: Final = tuple(float(seconds) for _, seconds in _NARROWEST_FIRST)


def as_of(alias: str) -> Fragment:
    """The version of each entity that holds at T."""
    return Fragment(
        f"{alias}.valid_from <= :at AND ({alias}.valid_to IS NULL OR {alias}.valid_to > :at)", needs=("at",)
    )


def unit_of(asset: str) -> str:
    """A finding's business unit: its asset's at T (`unassigned` when the inventory has none)."""
    return f"COALESCE({asset}.business_unit, 'unassigned')"


# Assets as the inventory knew them at T (absent: never heard of).
ASSETS_AT: Final = Fragment(f"SELECT a.* FROM asset_versions a WHERE {as_of('a')}", needs=("at",))

# Risk acceptances in force at T: approved, not yet expired, not revoked.
ACCEPTED_AT: Final = Fragment(
    "SELECT r.* FROM risk_acceptances r WHERE r.approved_at <= :at AND r.expires_at > :at "
    "AND (r.revoked_at IS NULL OR r.revoked_at > :at)",
    needs=("at",),
)
# For an acceptance `r`: approved by T and no longer in force at T (expired or revoked).
ENDED_AT: Final = Fragment(
    "r.approved_at <= :at AND (r.expires_at <= :at OR r.revoked_at <= :at)", needs=("at",)
)
_RANKED: Final = "'{" + ",".join(reversed(SEVERITIES)) + "}'::text[]"  # info first, critical last


def within_ceiling(finding: str, acceptance: str) -> str:
    """The finding's severity is at or below the acceptance's: only then does the acceptance cover it."""
    return f"array_position({_RANKED}, {finding}) <= array_position({_RANKED}, {acceptance})"


def vulnerability_scope(r: str, c: str, unit: str) -> str:
    """Acceptance `r` names cycle `c`: its vulnerability, and its asset and business unit when it sets any."""
    return (
        f"{r}.vulnerability_id = {c}.vulnerability_id "
        f"AND ({r}.asset_id IS NULL OR {r}.asset_id = {c}.asset_id) "
        f"AND ({r}.business_unit IS NULL OR {r}.business_unit = {unit})"
    )


def check_scope(r: str, f: str) -> str:
    """Acceptance `r` names cloud check `f`: its control, and its resource when it sets one."""
    return (
        f"{r}.control_id = {f}.control_id AND ({r}.resource_id IS NULL OR {r}.resource_id = {f}.resource_id)"
    )


# Assets expected to run EDR at T, each with whether it is covered.
EDR_EXPECTED_AT: Final = Fragment(
    f"""
SELECT a.asset_id, a.hostname, a.kind, a.business_unit, a.os_family, a.last_seen,
       e.last_healthy_at, e.uninstalled_at,
       (e.last_healthy_at >= :at::timestamptz - make_interval(secs => :heartbeat_max_age::float8)
        AND (e.uninstalled_at IS NULL OR e.uninstalled_at <= e.last_healthy_at)) IS TRUE AS covered
FROM ({ASSETS_AT}) a
LEFT JOIN (SELECT e.* FROM edr_versions e WHERE {as_of("e")}) e ON e.asset_id = a.asset_id
WHERE NOT a.retired AND a.edr_required
  AND a.last_seen >= :at::timestamptz - make_interval(secs => :inventory_stale_after::float8)
""",
    needs=("at", "heartbeat_max_age", "inventory_stale_after"),
)

# For an EDR version `e` at T (shadow IT): a healthy heartbeat within the max age from an asset the
# inventory has never observed.
EDR_UNKNOWN: Final = Fragment(
    """
e.last_healthy_at >= :at::timestamptz - make_interval(secs => :heartbeat_max_age::float8)
AND NOT EXISTS (SELECT 1 FROM asset_versions a
                WHERE a.asset_id = e.asset_id AND a.valid_from <= :at AND a.last_seen IS NOT NULL)
""",
    needs=("at", "heartbeat_max_age"),
)

# Active identities at T.
IDENTITIES_AT: Final = Fragment(
    f"SELECT i.* FROM identity_versions i WHERE {as_of('i')} AND i.active", needs=("at",)
)

# Per user, the factors enrolled at T; strong when any is phishing resistant.
FACTORS_AT: Final = Fragment(
    f"""
SELECT f.user_id, bool_or(f.factor_type = ANY(:phishing_resistant_factors::text[])) AS strong,
       array_agg(DISTINCT f.factor_type ORDER BY f.factor_type) AS factor_types
FROM mfa_factor_versions f WHERE {as_of("f")} AND f.enrolled GROUP BY f.user_id
""",
    needs=("at", "phishing_resistant_factors"),
)


def unremediated(c: str) -> Fragment:
    """Vulnerability cycle version `c` holds at T and was not remediated by T."""
    return Fragment(f"{as_of(c)} AND ({c}.remediated_at IS NULL OR {c}.remediated_at > :at)", needs=("at",))


def open_cycle(c: str, a: str) -> Fragment:
    """Cycle `c` is open at T: unremediated, on an asset (its version `a` at T, LEFT JOINed) not retired."""
    return Fragment(f"{unremediated(c)} AND NOT COALESCE({a}.retired, false)", needs=("at",))


# Open vulnerability cycles at T on assets not retired, as CTEs ending in `opened`, each with its SLA. A
# cycle is accepted when an acceptance in force names it (scoped by business unit too) and the cycle's
# severity at T is at or below the acceptance's: a re-rating above it ends the cover.
OPEN_CYCLES_CTES: Final = Fragment(
    f"""
asset_at AS ({ASSETS_AT}),
accepted AS ({ACCEPTED_AT}),
sla AS (SELECT * FROM unnest(:severities::text[], :sla_seconds::float8[]) AS s(severity, seconds)),
hits AS (
    SELECT DISTINCT c.asset_id, c.vulnerability_id, c.cycle
    FROM accepted r
    JOIN vuln_cycle_versions c ON c.vulnerability_id = r.vulnerability_id
    LEFT JOIN asset_at a ON a.asset_id = c.asset_id
    WHERE {unremediated("c")}
      AND {vulnerability_scope("r", "c", unit_of("a"))}
      AND {within_ceiling("c.severity", "r.severity")}
),
opened AS (
    SELECT c.asset_id, c.vulnerability_id, c.cycle, c.detected_at, c.kev,
           {unit_of("a")} AS business_unit, c.severity, s.seconds AS sla_seconds,
           h.cycle IS NOT NULL AS accepted, date_part('epoch', :at - c.detected_at) AS age
    FROM vuln_cycle_versions c
    JOIN sla s ON s.severity = c.severity
    LEFT JOIN asset_at a ON a.asset_id = c.asset_id
    LEFT JOIN hits h
           ON h.asset_id = c.asset_id AND h.vulnerability_id = c.vulnerability_id AND h.cycle = c.cycle
    WHERE {open_cycle("c", "a")}
)""",
    needs=("at", "severities", "sla_seconds"),
)


# The known-exploited catalog as it stood at T (an import at S changes nothing before S).
KEV_AT: Final = Fragment(
    f"SELECT k.vulnerability_id, k.date_added, k.due_date FROM kev_catalog_versions k WHERE {as_of('k')}",
    needs=("at",),
)


def kev_due(k: str) -> str:
    """The end of catalog entry `k`'s due date: remediation is due by then (midnight UTC after it)."""
    return f"(({k}.due_date + 1)::timestamp AT TIME ZONE 'UTC')"


def kev_deadline(o: str, k: str) -> str:
    """An open cycle `o` (of `opened`) of a catalog vulnerability `k` is due by the earlier of the catalog's
    due date and its severity's SLA."""
    return f"least({o}.detected_at + make_interval(secs => {o}.sla_seconds), {kev_due(k)})"


def fresh_check(alias: str) -> Fragment:
    """A cloud check version that counts at T: current, evaluated recently enough, not muted, not info."""
    return Fragment(
        f"{as_of(alias)} "
        f"AND {alias}.evaluated_at >= :at::timestamptz - make_interval(secs => :check_stale_after::float8) "
        f"AND {alias}.status <> 'muted' AND {alias}.severity <> 'info'",
        needs=("at", "check_stale_after"),
    )


# Failing fresh checks under an acceptance in force whose severity is at or above the check's at T (needs
# CTEs `fresh` and `accepted`).
ACCEPTED_CHECKS: Final = f"""
SELECT DISTINCT f.resource_id, f.control_id
FROM fresh f JOIN accepted r ON {check_scope("r", "f")}
WHERE f.status = 'fail' AND {within_ceiling("f.severity", "r.severity")}
"""

# Incidents at T that opened and have a severity counted in metrics.
INCIDENTS_AT: Final = Fragment(
    f"""
SELECT i.* FROM incident_versions i
WHERE {as_of("i")} AND i.opened_at IS NOT NULL AND i.severity = ANY(:severities::text[])
""",
    needs=("at", "severities"),
)


def edr_ages(policy: Policy) -> dict[str, float]:
    """`:heartbeat_max_age` and `:inventory_stale_after` from the policy."""
    return {
        "heartbeat_max_age": policy.edr_heartbeat_max_age.total_seconds(),
        "inventory_stale_after": policy.inventory_stale_after.total_seconds(),
    }


def severity_sla(policy: Policy) -> dict[str, object]:
    """`:severities` (most severe first) and `:sla_seconds`, each severity's SLA under the policy."""
    return {
        "severities": list(SLA_SEVERITIES),
        "sla_seconds": [policy.sla_days.days(s) * 86400.0 for s in SLA_SEVERITIES],
    }


def check_staleness(policy: Policy) -> float:
    """`:check_stale_after`: how long a cloud check's last evaluation counts."""
    return policy.cloud_check_stale_after.total_seconds()
