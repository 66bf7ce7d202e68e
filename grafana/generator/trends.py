"""Board trends: twelve months of the headline KPIs from Trustline's own history in PostgreSQL.

Prometheus usually keeps weeks; the aggregator stores every snapshot (hourly after two weeks, 400 days
by default), so the long view reads the database through a read-only PostgreSQL datasource.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import timeseries

from .panels import GOOD_WHEN_HIGH, POSTGRES, AnyPanel, board, thresholds
from .promql import DAY_SECONDS, DAYS_UNIT
from .sql import Sql, daily, share

PRIV = "m.labels->>'population' = 'privileged'"
MFA, IDS = "m.name = 'trustline_identities_mfa'", "m.name = 'trustline_identities'"
W30 = "m.labels->>'window' = '30d'"
CHECKS = "m.name = 'trustline_cloud_config_checks'"


def _panel(title: str, description: str, sql: str, *, unit: str, w: int = 12) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(POSTGRES)
        .unit(unit)
        .span(w)
        .height(8)
        .with_target(Sql(sql))
    )


def coverage() -> AnyPanel:
    """EDR, privileged MFA and cloud compliance, one point per day."""
    cols = ",\n  ".join(
        (
            share(
                "EDR coverage",
                "m.name = 'trustline_edr_assets_covered'",
                "m.name = 'trustline_edr_assets_expected'",
            ),
            share("Privileged MFA", f"{MFA} AND {PRIV}", f"{IDS} AND {PRIV}"),
            share(
                "Privileged phishing-resistant MFA",
                f"{MFA} AND {PRIV} AND m.labels->>'strength' = 'phishing_resistant'",
                f"{IDS} AND {PRIV}",
            ),
            share(
                "Cloud config compliance",
                f"{CHECKS} AND m.labels->>'status' = 'pass'",
                f"{CHECKS} AND m.labels->>'status' IN ('pass', 'fail')",
            ),
        )
    )
    names = (
        "trustline_edr_assets_covered",
        "trustline_edr_assets_expected",
        "trustline_identities_mfa",
        "trustline_identities",
        "trustline_cloud_config_checks",
    )
    panel = _panel(
        "Coverage and compliance",
        "Daily (last snapshot of each day): EDR coverage (covered over expected assets), privileged MFA "
        "(any factor, and phishing-resistant) and cloud config compliance (pass over pass plus fail).",
        daily(cols, names),
        unit="percentunit",
    )
    return panel.thresholds(thresholds(GOOD_WHEN_HIGH))


def patching() -> list[AnyPanel]:
    """Patch SLA compliance and vulnerabilities past SLA."""
    sla = share("Patch SLA compliance (30d)", f"{W30} AND m.labels->>'sla' = 'met'", W30)
    breached = "sum(m.value) FILTER (WHERE m.labels->>'sla_status' = 'breached') AS value"
    return [
        _panel(
            "Patch SLA compliance (30d)",
            "Daily: cycles remediated within their severity's SLA over all cycles remediated in the 30 days "
            "before that day's snapshot.",
            daily(sla, ["trustline_patch_remediations"]),
            unit="percentunit",
        ).thresholds(thresholds(GOOD_WHEN_HIGH)),
        _panel(
            "Vulnerabilities past SLA by severity",
            "Daily: open cycles older than their severity's SLA and not covered by a risk acceptance.",
            daily(breached, ["trustline_vulnerabilities_open"], series="severity"),
            unit="short",
        ),
        _panel(
            "Security debt",
            "Daily: sum over open, not accepted cycles of the time past their SLA, in days (stored in "
            "seconds).",
            daily(
                f'sum(m.value) / {DAY_SECONDS} AS "Security debt (days)"', ["trustline_security_debt_seconds"]
            ),
            unit=DAYS_UNIT,
        ),
    ]


def incidents() -> list[AnyPanel]:
    """Recovery and open incidents."""
    restore = f"m.labels->>'stage' = 'restore' AND {W30}"
    mttr = share(
        "MTTR (30d)",
        f"m.name = 'trustline_incident_duration_seconds_sum' AND {restore}",
        f"m.name = 'trustline_incident_duration_seconds_count' AND {restore}",
    )
    names = ("trustline_incident_duration_seconds_sum", "trustline_incident_duration_seconds_count")
    return [
        _panel(
            "MTTR (30d)",
            "Daily: mean opening-to-restore time of incidents restored in the 30 days before the snapshot.",
            daily(mttr, names),
            unit="s",
        ),
        _panel(
            "Open incidents",
            "Daily: incidents opened and not resolved at the snapshot.",
            daily('sum(m.value) AS "Open incidents"', ["trustline_incidents_open"]),
            unit="short",
        ),
    ]


def dashboard() -> db.Dashboard:
    """The board-trends dashboard (PostgreSQL)."""
    return board(
        "trustline-board-trends",
        "Trustline / Board trends (12 months)",
        "Twelve months of the headline KPIs from Trustline's metric history in PostgreSQL, one point "
        "per day.",
        [("Twelve months", [coverage(), *patching(), *incidents()])],
        time_from="now-1y",
        postgres=True,
    )
