"""Executive overview: the headline KPIs now and over 90 days, in one risk language."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db

from .panels import (
    DAY,
    GOOD_WHEN_HIGH,
    ZERO_IS_GOOD,
    AnyPanel,
    Q,
    board,
    business_unit_variable,
    severity_variable,
)
from .panels import stat_panel as stat
from .panels import trend_panel as trend
from .promql import (
    BU,
    DAYS_UNIT,
    SEV,
    cloud_compliance,
    count,
    edr_coverage,
    in_days,
    mean,
    mfa_coverage,
    patch_sla,
)

INCIDENTS = "trustline_incident_duration_seconds"
RESTORE_30D = ('stage="restore"', 'window="30d"', SEV)
PR = "phishing_resistant"
D_EDR = (
    "EDR coverage: expected assets (in scope, not retired, EDR required, seen recently) whose last "
    "healthy heartbeat is within the policy's edr_heartbeat_max_age, over all expected assets."
)
D_MFA = (
    "Active privileged identities with at least one enrolled MFA factor, over all active privileged "
    "identities."
)
D_MFA_PR = (
    "Active privileged identities with a phishing-resistant factor (the policy's list: webauthn, "
    "fido2, piv, smartcard), over all active privileged identities."
)
D_CLOUD = (
    "Fresh, not muted cloud checks passing, over passing plus failing (checks under an accepted risk "
    "count as neither). No business unit: cloud checks carry provider and severity."
)
D_SLA = (
    "Vulnerability cycles remediated within their severity's SLA (policy sla_days), over all cycles "
    "remediated in the last 30 days."
)
D_MTTR = (
    "Mean time to restore service: opening to restore (or resolve when there was no restore step) of "
    "incidents restored in the last 30 days."
)
D_CRIT = (
    "Open critical vulnerability cycles older than the critical SLA and not covered by an approved "
    "risk acceptance."
)
D_DEBT = (
    "Sum over open, not accepted cycles of the time past their SLA, in days (exported in seconds as "
    "trustline_security_debt_seconds)."
)


def headline() -> list[AnyPanel]:
    """The KPIs leadership reads first."""
    return [
        stat("EDR coverage", D_EDR, [Q(edr_coverage(BU))], unit="percentunit", steps=GOOD_WHEN_HIGH),
        stat("Privileged MFA", D_MFA, [Q(mfa_coverage(BU))], unit="percentunit", steps=GOOD_WHEN_HIGH),
        stat(
            "Privileged phishing-resistant MFA",
            D_MFA_PR,
            [Q(mfa_coverage(BU, strength=PR))],
            unit="percentunit",
            steps=GOOD_WHEN_HIGH,
        ),
        stat(
            "Cloud config compliance",
            D_CLOUD,
            [Q(cloud_compliance(SEV))],
            unit="percentunit",
            steps=GOOD_WHEN_HIGH,
        ),
        stat(
            "Patch SLA compliance (30d)",
            D_SLA,
            [Q(patch_sla(BU, SEV))],
            unit="percentunit",
            steps=GOOD_WHEN_HIGH,
        ),
        stat(
            "MTTR (30d)",
            D_MTTR,
            [Q(mean(INCIDENTS, *RESTORE_30D))],
            unit="s",
            steps=((None, "green"), (DAY, "red")),
        ),
        stat(
            "Critical vulnerabilities past SLA",
            D_CRIT,
            [Q(count("trustline_vulnerabilities_open", BU, 'severity="critical"', 'sla_status="breached"'))],
            unit="short",
            steps=ZERO_IS_GOOD,
        ),
        stat(
            "Security debt",
            D_DEBT,
            [Q(in_days(count("trustline_security_debt_seconds", BU, SEV)))],
            unit=DAYS_UNIT,
        ),
    ]


def trends() -> list[AnyPanel]:
    """The same KPIs over the dashboard's range (90 days by default: size Prometheus retention for it)."""
    return [
        trend(
            "Coverage and compliance",
            "EDR coverage, privileged MFA (any factor and phishing-resistant) and cloud config "
            "compliance, as defined on the stat panels above.",
            [
                Q(edr_coverage(BU), "EDR"),
                Q(mfa_coverage(BU), "privileged MFA"),
                Q(mfa_coverage(BU, strength=PR), "privileged phishing-resistant MFA"),
                Q(cloud_compliance(SEV), "cloud config"),
            ],
            unit="percentunit",
            steps=GOOD_WHEN_HIGH,
        ),
        trend(
            "Patch SLA compliance by severity (30d)",
            D_SLA,
            [Q(patch_sla(BU, SEV, by=["severity"]), "{{severity}}")],
            unit="percentunit",
            steps=GOOD_WHEN_HIGH,
        ),
        trend(
            "MTTR by severity (30d)",
            D_MTTR,
            [Q(mean(INCIDENTS, *RESTORE_30D, by=["severity"]), "{{severity}}")],
            unit="s",
        ),
        trend(
            "Vulnerabilities past SLA by severity",
            "Open cycles older than their severity's SLA and not accepted.",
            [
                Q(
                    count(
                        "trustline_vulnerabilities_open", BU, SEV, 'sla_status="breached"', by=["severity"]
                    ),
                    "{{severity}}",
                )
            ],
            unit="short",
            stacked=True,
        ),
    ]


def dashboard() -> db.Dashboard:
    """The executive overview board."""
    return board(
        "trustline-overview",
        "Trustline / Executive overview",
        "Can we deliver at speed without piling up unmanageable risk, and recover fast? Headline KPIs"
        " and their 90-day trends.",
        [("Headline KPIs", headline()), ("90-day trends", trends())],
        variables=[business_unit_variable(), severity_variable()],
        time_from="now-90d",
    )
