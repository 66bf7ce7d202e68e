"""Vulnerabilities and patching: time to patch, SLA compliance, backlog aging, debt, accepted risk."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db

from .panels import (
    DAY,
    GOOD_WHEN_HIGH,
    AnyPanel,
    Q,
    bars_panel,
    board,
    business_unit_variable,
    severity_variable,
    sla_override,
    stat_panel,
    trend_panel,
    window_variable,
)
from .promql import BU, DAYS_UNIT, SEV, count, in_days, mean, patch_sla, quantile, snap

TTP = "trustline_time_to_patch_seconds"
WIN = 'window="$window"'
OPEN = "trustline_vulnerabilities_open"
BY_SEV = ["severity"]


def _ttp(q: float | None, title: str) -> AnyPanel:
    what = "mean" if q is None else f"p{int(q * 100)} (estimated from the histogram buckets)"
    expr = mean(TTP, BU, SEV, WIN, by=BY_SEV) if q is None else quantile(q, TTP, BU, SEV, WIN, by=BY_SEV)
    panel = bars_panel(
        title,
        f"Time to patch, {what}: detection to remediation of vulnerability cycles closed in the window, by "
        "severity. Red past the severity's SLA (policy sla_days). Exact percentiles: the REST API.",
        [Q(expr, "{{severity}}")],
        unit="s",
        w=8,
    )
    sla_override(panel, scale=DAY)
    return panel


def patching() -> list[AnyPanel]:
    """How fast fixes land, against the SLA."""
    return [
        _ttp(0.5, "Time to patch p50"),
        _ttp(0.9, "Time to patch p90"),
        _ttp(None, "Mean time to patch"),
        trend_panel(
            "Patch SLA compliance by severity",
            "Cycles closed in the window within their severity's SLA, over all cycles closed in the window.",
            [Q(patch_sla(BU, SEV, window="$window", by=BY_SEV), "{{severity}}")],
            unit="percentunit",
            steps=GOOD_WHEN_HIGH,
        ),
        bars_panel(
            "Remediations by SLA outcome",
            "Cycles closed in the window, split by whether they met their severity's SLA.",
            [
                Q(
                    count("trustline_patch_remediations", BU, SEV, WIN, by=["severity", "sla"]),
                    "{{severity}} {{sla}}",
                )
            ],
            unit="short",
        ),
    ]


def backlog() -> list[AnyPanel]:
    """What is still open, how old, and how far past its SLA."""
    return [
        trend_panel(
            "Open vulnerabilities by SLA status",
            "Open cycles: within_sla, breached (older than the SLA, not accepted) and accepted "
            "(covered by an "
            "approved, unexpired risk acceptance).",
            [Q(count(OPEN, BU, SEV, by=["sla_status"]), "{{sla_status}}")],
            unit="short",
            stacked=True,
        ),
        bars_panel(
            "Backlog aging",
            "Open cycles by age in whole days since detection (accepted ones included).",
            [Q(count("trustline_vulnerability_backlog", BU, SEV, by=["age_bucket"]), "{{age_bucket}}")],
            unit="short",
        ),
        bars_panel(
            "Past SLA by business unit",
            "Open cycles older than their SLA and not accepted, by the asset's business unit.",
            [Q(count(OPEN, BU, SEV, 'sla_status="breached"', by=["business_unit"]), "{{business_unit}}")],
            unit="short",
        ),
        bars_panel(
            "Security debt by business unit",
            "Sum over open, not accepted cycles of the time past their severity's SLA, in days (exported "
            "in seconds).",
            [
                Q(
                    in_days(count("trustline_security_debt_seconds", BU, SEV, by=["business_unit"])),
                    "{{business_unit}}",
                )
            ],
            unit=DAYS_UNIT,
        ),
        _oldest(),
        bars_panel(
            "Known-exploited vulnerabilities by SLA status",
            "Open cycles whose vulnerability is in the CISA KEV catalog (as imported): breached past the "
            "earlier of the catalog's due date and the severity SLA. Not filtered by severity.",
            [Q(count("trustline_kev_vulnerabilities_open", BU, by=["sla_status"]), "{{sla_status}}")],
            unit="short",
        ),
    ]


def _oldest() -> AnyPanel:
    expr = f"max by (severity) ({snap('trustline_vulnerability_oldest_open_age_seconds', BU, SEV)})"
    panel = bars_panel(
        "Oldest open vulnerability by severity",
        "Age (now minus detection) of the oldest open cycle of each severity. Red past the severity's SLA.",
        [Q(expr, "{{severity}}")],
        unit="s",
    )
    sla_override(panel, scale=DAY)
    return panel


def accepted() -> list[AnyPanel]:
    """Risk the business chose to carry, and when that choice runs out."""
    return [
        stat_panel(
            "Open vulnerabilities under accepted risk",
            "Open cycles covered by an approved, unexpired risk acceptance: they leave the SLA figures while "
            "the acceptance holds.",
            [Q(count(OPEN, BU, SEV, 'sla_status="accepted"'))],
            unit="short",
            w=8,
        ),
        bars_panel(
            "Risk acceptances by status",
            "The risk-acceptance registry by status (proposed, approved, rejected, expired, revoked). "
            "Registry-wide: not filtered by business unit or severity.",
            [Q(count("trustline_risk_acceptances", by=["status"]), "{{status}}")],
            unit="short",
            w=8,
        ),
        stat_panel(
            "Acceptances expiring within 7 days",
            "Approved acceptances whose expiry lies within the next 7 days: their findings count again then.",
            [Q(count("trustline_risk_acceptances_expiring_7d"))],
            unit="short",
            steps=((None, "green"), (1, "orange")),
            w=8,
        ),
    ]


def dashboard() -> db.Dashboard:
    """The vulnerabilities and patching board."""
    return board(
        "trustline-vulnerabilities",
        "Trustline / Vulnerabilities and patching",
        "Time to patch against the SLA, the open backlog and its age, security debt and accepted risk.",
        [("Patching", patching()), ("Open backlog", backlog()), ("Accepted risk", accepted())],
        variables=[business_unit_variable(), severity_variable(), window_variable()],
    )
