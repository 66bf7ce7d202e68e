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

The live snapshot reads the same statements per entity (`Entities`): grouped additionally by the entity's
key columns, and optionally only for the entities named by `:entity_<key column>` arrays (text[]).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from trustline.shared.policy import Policy
from trustline.shared.severity import SEVERITIES, SLA_SEVERITIES
from trustline.shared.sql import Fragment

from .samples import WINDOWS

_NARROWEST_FIRST: Final = sorted(WINDOWS.items(), key=lambda kv: kv[1])
WINDOW_NAMES: Final = tuple(name for name, _ in _NARROWEST_FIRST)
WINDOW_SECONDS: Final = tuple(float(seconds) for _, seconds in _NARROWEST_FIRST)


@dataclass(frozen=True, slots=True)
class Entities:
    """Which entities a family's statement reads, and whether it groups by them.

    The as-of path reads the whole estate grouped by labels only (`ESTATE`). The live snapshot keeps one
    contribution per entity, so it groups by the entity's `key` columns too: once over every entity, then
    `only` those named by the `:entity_<column>` arrays. One statement text serves all three, so what a
    family means is written once.
    """

    key: tuple[str, ...] = ()
    only: bool = False

    @property
    def needs(self) -> tuple[str, ...]:
        """The parameters the entity filter binds."""
        return tuple(f"entity_{k}" for k in self.key) if self.only else ()

    def where(self, alias: str) -> str:
        """` AND <alias>'s key is one of the named entities`, or nothing."""
        if not self.only:
            return ""
        if len(self.key) == 1:
            return f" AND {alias}.{self.key[0]} = ANY(:entity_{self.key[0]}::text[])"
        columns = ", ".join(f"{alias}.{k}" for k in self.key)
        arrays = ", ".join(f":entity_{k}::text[]" for k in self.key)
        return f" AND ({columns}) IN (SELECT * FROM unnest({arrays}))"

    def grouping(self, alias: str) -> str:
        """What to GROUP BY when the labels are none: the key columns, or `()` (one row for the estate)."""
        return ", ".join(f"{alias}.{k}" for k in self.key) or "()"

    def keys(self, alias: str) -> str:
        """The key columns of `alias` to group by, each with a comma."""
        return "".join(f"{alias}.{k}, " for k in self.key)

    def columns(self, alias: str | None = None) -> str:
        """The key columns to select (from `alias`, or as named in the FROM list), each with a comma."""
        return "".join(f"{alias}.{k} AS {k}, " if alias else f"{k}, " for k in self.key)


ESTATE: Final = Entities()


def as_of(alias: str) -> Fragment:
    """The version of each entity that holds at T."""
    return Fragment(
        f"{alias}.valid_from <= :at AND ({alias}.valid_to IS NULL OR {alias}.valid_to > :at)", needs=("at",)
    )


def unit_of(asset: str) -> str:
    """A finding's business unit: its asset's at T (`unassigned` when the inventory has none)."""
    return f"COALESCE({asset}.business_unit, 'unassigned')"


def assets_at(ent: Entities = ESTATE) -> Fragment:
    """Assets as the inventory knew them at T (absent: never heard of)."""
    return Fragment(
        f"SELECT a.* FROM asset_versions a WHERE {as_of('a')}{ent.where('a')}", needs=("at", *ent.needs)
    )


ASSETS_AT: Final = assets_at()

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


def edr_expected_at(ent: Entities = ESTATE) -> Fragment:
    """Assets expected to run EDR at T, each with whether it is covered."""
    return Fragment(
        f"""
SELECT a.asset_id, a.hostname, a.kind, a.business_unit, a.os_family, a.last_seen,
       e.last_healthy_at, e.uninstalled_at,
       (e.last_healthy_at >= :at::timestamptz - make_interval(secs => :heartbeat_max_age::float8)
        AND (e.uninstalled_at IS NULL OR e.uninstalled_at <= e.last_healthy_at)) IS TRUE AS covered
FROM ({assets_at(ent)}) a
LEFT JOIN (SELECT e.* FROM edr_versions e WHERE {as_of("e")}{ent.where("e")}) e ON e.asset_id = a.asset_id
WHERE NOT a.retired AND a.edr_required
  AND a.last_seen >= :at::timestamptz - make_interval(secs => :inventory_stale_after::float8)
""",
        needs=("at", "heartbeat_max_age", "inventory_stale_after", *ent.needs),
    )


EDR_EXPECTED_AT: Final = edr_expected_at()

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


def identities_at(ent: Entities = ESTATE) -> Fragment:
    """Active identities at T."""
    return Fragment(
        f"SELECT i.* FROM identity_versions i WHERE {as_of('i')} AND i.active{ent.where('i')}",
        needs=("at", *ent.needs),
    )


def factors_at(ent: Entities = ESTATE) -> Fragment:
    """Per user, the factors enrolled at T; strong when any is phishing resistant."""
    return Fragment(
        f"""
SELECT f.user_id, bool_or(f.factor_type = ANY(:phishing_resistant_factors::text[])) AS strong,
       array_agg(DISTINCT f.factor_type ORDER BY f.factor_type) AS factor_types
FROM mfa_factor_versions f WHERE {as_of("f")} AND f.enrolled{ent.where("f")} GROUP BY f.user_id
""",
        needs=("at", "phishing_resistant_factors", *ent.needs),
    )


IDENTITIES_AT: Final = identities_at()
FACTORS_AT: Final = factors_at()


def unremediated(c: str) -> Fragment:
    """Vulnerability cycle version `c` holds at T and was not remediated by T."""
    return Fragment(f"{as_of(c)} AND ({c}.remediated_at IS NULL OR {c}.remediated_at > :at)", needs=("at",))


def open_cycle(c: str, a: str) -> Fragment:
    """Cycle `c` is open at T: unremediated, on an asset (its version `a` at T, LEFT JOINed) not retired."""
    return Fragment(f"{unremediated(c)} AND NOT COALESCE({a}.retired, false)", needs=("at",))


def open_cycles_ctes(ent: Entities = ESTATE) -> Fragment:
    """Open vulnerability cycles at T on assets not retired, as CTEs ending in `opened`, each with its SLA.

    A cycle is accepted when an acceptance in force names it (scoped by business unit too) and the cycle's
    severity at T is at or below the acceptance's: a re-rating above it ends the cover.
    """
    return Fragment(
        f"""
asset_at AS ({assets_at(ent)}),
accepted AS ({ACCEPTED_AT}),
sla AS (SELECT * FROM unnest(:severities::text[], :sla_seconds::float8[]) AS s(severity, seconds)),
hits AS (
    SELECT DISTINCT c.asset_id, c.vulnerability_id, c.cycle
    FROM accepted r
    JOIN vuln_cycle_versions c ON c.vulnerability_id = r.vulnerability_id
    LEFT JOIN asset_at a ON a.asset_id = c.asset_id
    WHERE {unremediated("c")}{ent.where("c")}
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
    WHERE {open_cycle("c", "a")}{ent.where("c")}
)""",
        needs=("at", "severities", "sla_seconds", *ent.needs),
    )


OPEN_CYCLES_CTES: Final = open_cycles_ctes()


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


def incidents_at(ent: Entities = ESTATE) -> Fragment:
    """Incidents at T that opened and have a severity counted in metrics."""
    return Fragment(
        f"""
SELECT i.* FROM incident_versions i
WHERE {as_of("i")} AND i.opened_at IS NOT NULL AND i.severity = ANY(:severities::text[]){ent.where("i")}
""",
        needs=("at", "severities", *ent.needs),
    )


INCIDENTS_AT: Final = incidents_at()


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
