"""Headline KPIs derived from a snapshot's samples: pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from trustline.shared.metrics.samples import Sample, Window
from trustline.shared.policy import Policy
from trustline.shared.severity import SLA_SEVERITIES

from .schemas import Incidents, Kpis, OpenVulnerabilities, Patching, Ratio, Source

# Exact (p50, p90) time to patch per severity; absent where nothing was remediated in the window.
Percentiles = Mapping[str, tuple[float, float]]


class _Index:
    """Sums of sample values by name and a label subset."""

    def __init__(self, samples: Iterable[Sample]) -> None:
        self._by_name: dict[str, list[Sample]] = {}
        for s in samples:
            self._by_name.setdefault(s.name, []).append(s)

    def has(self, name: str) -> bool:
        return name in self._by_name

    def sum(self, name: str, **labels: str) -> float:
        return sum(
            s.value
            for s in self._by_name.get(name, ())
            if all(s.labels.get(k) == v for k, v in labels.items())
        )

    def values(self, name: str, label: str) -> dict[str, int]:
        return {s.labels[label]: int(s.value) for s in self._by_name.get(name, ()) if label in s.labels}


def ratio(numerator: float, denominator: float) -> Ratio:
    """A ratio with its parts; null over an empty population."""
    return Ratio(
        numerator=int(numerator),
        denominator=int(denominator),
        ratio=numerator / denominator if denominator else None,
    )


def _mean(idx: _Index, family: str, **labels: str) -> float | None:
    count = idx.sum(f"{family}_count", **labels)
    return idx.sum(f"{family}_sum", **labels) / count if count else None


def _patching(idx: _Index, severity: str, window: Window, policy: Policy, exact: Percentiles) -> Patching:
    sel = {"severity": severity, "window": window}
    met = idx.sum("trustline_patch_remediations", sla="met", **sel)
    missed = idx.sum("trustline_patch_remediations", sla="missed", **sel)
    p50, p90 = exact.get(severity, (None, None))
    opened = {
        status: int(idx.sum("trustline_vulnerabilities_open", severity=severity, sla_status=status))
        for status in ("within_sla", "breached", "accepted")
    }
    return Patching(
        severity=severity,
        sla_days=policy.sla_days.days(severity),
        remediations=int(met + missed),
        sla_compliance=ratio(met, met + missed),
        mean_seconds=_mean(idx, "trustline_time_to_patch_seconds", **sel),
        p50_seconds=p50,
        p90_seconds=p90,
        open=OpenVulnerabilities(
            **opened, security_debt_seconds=idx.sum("trustline_security_debt_seconds", severity=severity)
        ),
    )


def _incidents(idx: _Index, severity: str, window: Window) -> Incidents:
    family = "trustline_incident_duration_seconds"
    sel = {"severity": severity, "window": window}
    return Incidents(
        severity=severity,
        mtta_seconds=_mean(idx, family, stage="acknowledge", **sel),
        mttc_seconds=_mean(idx, family, stage="contain", **sel),
        mttr_seconds=_mean(idx, family, stage="restore", **sel),
        restored=int(idx.sum(f"{family}_count", stage="restore", **sel)),
        open=int(idx.sum("trustline_incidents_open", severity=severity)),
    )


def kpis_from_samples(
    samples: Iterable[Sample],
    *,
    at: datetime,
    source: Source,
    window: Window,
    policy: Policy,
    exact: Percentiles,
) -> Kpis:
    """The headline KPIs of one snapshot (ratios exactly as the shipped recording rules define them)."""
    idx = _Index(samples)
    privileged = idx.sum("trustline_identities", population="privileged")
    mfa = "trustline_identities_mfa"
    passed = idx.sum("trustline_cloud_config_checks", status="pass")
    failed = idx.sum("trustline_cloud_config_checks", status="fail")
    return Kpis(
        as_of=at,
        source=source,
        window=window,
        edr_coverage=ratio(idx.sum("trustline_edr_assets_covered"), idx.sum("trustline_edr_assets_expected")),
        edr_unknown_assets=int(idx.sum("trustline_edr_unknown_assets"))
        if idx.has("trustline_edr_unknown_assets")
        else None,
        privileged_mfa=ratio(idx.sum(mfa, population="privileged"), privileged),
        privileged_phishing_resistant_mfa=ratio(
            idx.sum(mfa, population="privileged", strength="phishing_resistant"), privileged
        ),
        cloud_config_compliance=ratio(passed, passed + failed),
        patching=[_patching(idx, s, window, policy, exact) for s in SLA_SEVERITIES],
        incidents=[_incidents(idx, s, window) for s in SLA_SEVERITIES],
        risk_acceptances=idx.values("trustline_risk_acceptances", "status"),
        risk_acceptances_expiring_7d=int(idx.sum("trustline_risk_acceptances_expiring_7d")),
    )
