"""Coverage: EDR, privileged MFA, cloud configuration, and assets the inventory does not know."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db

from .panels import (
    GOOD_WHEN_HIGH,
    ZERO_IS_GOOD,
    AnyPanel,
    Q,
    bars_panel,
    board,
    business_unit_variable,
    severity_variable,
    stat_panel,
    trend_panel,
)
from .promql import BU, SEV, cloud_compliance, count, edr_coverage, mfa_coverage

EXPECTED, COVERED = "trustline_edr_assets_expected", "trustline_edr_assets_covered"
PRIV = 'population="privileged"'
D_EDR = (
    "Expected assets (not retired, EDR required, observed within the policy's inventory_stale_after) whose "
    "last healthy heartbeat is within edr_heartbeat_max_age with no uninstall after it, over expected assets."
)


def edr() -> list[AnyPanel]:
    """Endpoint detection coverage."""
    return [
        stat_panel("EDR coverage", D_EDR, [Q(edr_coverage(BU))], unit="percentunit", steps=GOOD_WHEN_HIGH),
        stat_panel(
            "Assets without EDR",
            "Expected assets minus covered ones: in scope for EDR but with no recent healthy heartbeat.",
            [Q(f"{count(EXPECTED, BU)} - {count(COVERED, BU)}")],
            unit="short",
            steps=ZERO_IS_GOOD,
        ),
        stat_panel(
            "Unknown assets (shadow IT)",
            "Healthy EDR sensors on assets the inventory has never observed. Organisation-wide.",
            [Q(count("trustline_edr_unknown_assets"))],
            unit="short",
            steps=ZERO_IS_GOOD,
        ),
        bars_panel(
            "EDR coverage by OS family",
            D_EDR,
            [Q(edr_coverage(BU, by=["os_family"]), "{{os_family}}")],
            unit="percentunit",
            steps=GOOD_WHEN_HIGH,
            w=6,
        ),
        trend_panel(
            "EDR coverage by business unit",
            D_EDR,
            [Q(edr_coverage(BU, by=["business_unit"]), "{{business_unit}}")],
            unit="percentunit",
            steps=GOOD_WHEN_HIGH,
            w=24,
        ),
    ]


def identities() -> list[AnyPanel]:
    """MFA on the accounts that matter most."""
    without = f"{count('trustline_identities', BU, PRIV, by=['business_unit'])} - {count('trustline_identities_mfa', BU, PRIV, by=['business_unit'])}"  # noqa: E501
    return [
        stat_panel(
            "Privileged MFA",
            "Active privileged identities with any enrolled MFA factor, over active privileged identities.",
            [Q(mfa_coverage(BU))],
            unit="percentunit",
            steps=GOOD_WHEN_HIGH,
        ),
        stat_panel(
            "Privileged phishing-resistant MFA",
            "Active privileged identities with a factor in the policy's phishing_resistant_factors, over "
            "active privileged identities.",
            [Q(mfa_coverage(BU, strength="phishing_resistant"))],
            unit="percentunit",
            steps=GOOD_WHEN_HIGH,
        ),
        stat_panel(
            "Standard MFA",
            "Active standard (non-privileged) identities with any enrolled factor, over active "
            "standard ones.",
            [Q(mfa_coverage(BU, population="standard"))],
            unit="percentunit",
            steps=GOOD_WHEN_HIGH,
        ),
        bars_panel(
            "Privileged identities without MFA",
            "Active privileged identities with no enrolled factor, by business unit.",
            [Q(without, "{{business_unit}}")],
            unit="short",
            steps=ZERO_IS_GOOD,
            w=6,
        ),
    ]


def cloud() -> list[AnyPanel]:
    """Cloud configuration posture."""
    checks = "trustline_cloud_config_checks"
    return [
        stat_panel(
            "Cloud config compliance",
            "Fresh, not muted checks passing, over passing plus failing (accepted ones are neither).",
            [Q(cloud_compliance(SEV))],
            unit="percentunit",
            steps=GOOD_WHEN_HIGH,
        ),
        bars_panel(
            "Compliance by provider",
            "Passing over passing plus failing checks, per cloud provider.",
            [Q(cloud_compliance(SEV, by=["provider"]), "{{provider}}")],
            unit="percentunit",
            steps=GOOD_WHEN_HIGH,
            w=6,
        ),
        bars_panel(
            "Failing checks by severity",
            "Fresh, not muted checks whose latest evaluation failed and that no risk acceptance covers.",
            [Q(count(checks, SEV, 'status="fail"', by=["severity"]), "{{severity}}")],
            unit="short",
            w=6,
        ),
        stat_panel(
            "Failing checks under accepted risk",
            "Failing checks covered by an approved, unexpired risk acceptance.",
            [Q(count(checks, SEV, 'status="accepted"'))],
            unit="short",
        ),
    ]


def dashboard() -> db.Dashboard:
    """The coverage board."""
    return board(
        "trustline-coverage",
        "Trustline / Coverage",
        "How much of the estate the controls actually reach: EDR, MFA on privileged identities, cloud "
        "configuration, and assets nobody inventoried.",
        [("EDR", edr()), ("Identities", identities()), ("Cloud configuration", cloud())],
        variables=[business_unit_variable(), severity_variable()],
    )
