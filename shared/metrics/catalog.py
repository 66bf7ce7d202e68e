"""The exported metric families of the contract: name, Prometheus type and help."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal


@dataclass(frozen=True, slots=True)
class Family:
    """One Prometheus metric family that snapshots carry."""

    name: str
    type: Literal["gauge", "histogram"]
    help: str


_G: Final = "gauge"
_H: Final = "histogram"
FAMILIES: Final = {
    f.name: f
    for f in (
        Family(
            "trustline_time_to_patch_seconds", _H, "Detection to remediation of cycles closed in the window"
        ),
        Family("trustline_patch_remediations", _G, "Cycles closed in the window, by SLA met or missed"),
        Family("trustline_vulnerabilities_open", _G, "Open vulnerability cycles by SLA status"),
        Family("trustline_vulnerability_backlog", _G, "Open vulnerability cycles by age bucket"),
        Family(
            "trustline_security_debt_seconds", _G, "Sum of the time past SLA of open, not accepted cycles"
        ),
        Family("trustline_vulnerability_oldest_open_age_seconds", _G, "Age of the oldest open cycle"),
        Family(
            "trustline_kev_vulnerabilities_open",
            _G,
            "Open cycles of known-exploited vulnerabilities, by the earlier of catalog due date and SLA",
        ),
        Family(
            "trustline_edr_assets_expected",
            _G,
            "Assets in scope for EDR: not retired, required, recently seen",
        ),
        Family("trustline_edr_assets_covered", _G, "Expected assets with a recent healthy EDR heartbeat"),
        Family(
            "trustline_edr_unknown_assets", _G, "Healthy EDR sensors on assets the inventory never observed"
        ),
        Family("trustline_identities", _G, "Active identities"),
        Family("trustline_identities_mfa", _G, "Active identities with an enrolled MFA factor, by strength"),
        Family("trustline_cloud_config_checks", _G, "Fresh, not muted cloud checks by latest status"),
        Family(
            "trustline_incident_duration_seconds",
            _H,
            "Opening to each stage, for stages reached in the window",
        ),
        Family("trustline_incidents_open", _G, "Incidents opened and not resolved"),
        Family("trustline_incident_stage_errors", _G, "Incident stages dated before the opening (left out)"),
        Family("trustline_risk_acceptances", _G, "Risk acceptances in the registry, by status"),
        Family("trustline_risk_acceptances_expiring_7d", _G, "Approved acceptances expiring within 7 days"),
        Family("trustline_source_last_event_timestamp_seconds", _G, "Newest event time per source"),
        Family("trustline_snapshot_timestamp_seconds", _G, "The instant T of the snapshot being served"),
    )
}
_SUFFIXES: Final = ("_bucket", "_count", "_sum")


def family_of(sample_name: str) -> Family | None:
    """The family a sample name belongs to (histogram suffixes stripped)."""
    if sample_name in FAMILIES:
        return FAMILIES[sample_name]
    for suffix in _SUFFIXES:
        if sample_name.endswith(suffix):
            fam = FAMILIES.get(sample_name[: -len(suffix)])
            if fam is not None and fam.type == "histogram":
                return fam
    return None
