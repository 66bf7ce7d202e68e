"""The headline KPIs as the pages and the board report show them: each read from the API's own KPI model,
with its target from the policy, the gap list that explains it and the Grafana board that draws it.

Pure functions over `Kpis`: the numbers are the API's (`GET /api/v1/kpis`), only arranged for people.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from trustline.shared.policy import Targets

from ..kpis.schemas import Kpis, Ratio

Kind = Literal["ratio", "count", "days"]


@dataclass(frozen=True, slots=True)
class Measure:
    """One headline KPI: how to read it from the KPIs, which way is good, and where it is explained."""

    key: str
    title: str
    kind: Kind
    read: Callable[[Kpis], float | None]
    target: Callable[[Targets], float | None]
    gap: str  # the gap list's path under /gaps, with its filters
    board: str  # the Grafana dashboard uid
    higher_is_better: bool = True


@dataclass(frozen=True, slots=True)
class Headline:
    """One headline KPI's value at an instant, against its target."""

    measure: Measure
    value: float | None
    target: float | None
    detail: str  # numerator/denominator or a breakdown, as a sentence fragment

    @property
    def meets(self) -> bool | None:
        """Whether the value meets the target (None where there is nothing to judge)."""
        if self.value is None or self.target is None:
            return None
        better = self.value >= self.target if self.measure.higher_is_better else self.value <= self.target
        return bool(better)


def _value(r: Ratio) -> float | None:
    return r.ratio


def patch_sla(k: Kpis) -> Ratio:
    """Patch SLA compliance over every severity: met remediations over all remediations in the window."""
    met = sum(p.sla_compliance.numerator for p in k.patching)
    done = sum(p.sla_compliance.denominator for p in k.patching)
    return Ratio(numerator=met, denominator=done, ratio=met / done if done else None)


def past_sla(k: Kpis) -> int:
    """Open vulnerabilities past SLA and not accepted (vulnerabilities_open{sla_status="breached"})."""
    return sum(p.open.breached for p in k.patching)


def debt_seconds(k: Kpis) -> float:
    """Security debt over every severity, in seconds."""
    return sum(p.open.security_debt_seconds for p in k.patching)


def open_incidents(k: Kpis) -> int:
    """Incidents opened and not resolved."""
    return sum(i.open for i in k.incidents)


MEASURES: tuple[Measure, ...] = (
    Measure("edr_coverage", "EDR coverage", "ratio", lambda k: _value(k.edr_coverage),
            lambda t: t.edr_coverage, "edr-uncovered", "trustline-coverage"),
    Measure("privileged_mfa", "Privileged MFA", "ratio", lambda k: _value(k.privileged_mfa),
            lambda t: t.privileged_mfa, "identities-without-mfa", "trustline-coverage"),
    Measure("privileged_phishing_resistant_mfa", "Privileged phishing-resistant MFA", "ratio",
            lambda k: _value(k.privileged_phishing_resistant_mfa),
            lambda t: t.privileged_phishing_resistant_mfa,
            "identities-without-mfa?strength=phishing_resistant", "trustline-coverage"),
    Measure("cloud_config_compliance", "Cloud configuration compliance", "ratio",
            lambda k: _value(k.cloud_config_compliance), lambda t: t.cloud_config_compliance,
            "cloud-checks-failing", "trustline-coverage"),
    Measure("patch_sla_compliance", "Patch SLA compliance", "ratio", lambda k: _value(patch_sla(k)),
            lambda t: t.patch_sla_compliance, "vulnerabilities-past-sla", "trustline-vulnerabilities"),
    Measure("vulnerabilities_past_sla", "Vulnerabilities past SLA", "count", lambda k: past_sla(k),
            lambda t: t.vulnerabilities_past_sla, "vulnerabilities-past-sla", "trustline-vulnerabilities",
            higher_is_better=False),
    Measure("security_debt", "Security debt", "days", lambda k: debt_seconds(k), lambda t: None,
            "vulnerabilities-past-sla", "trustline-vulnerabilities", higher_is_better=False),
    Measure("open_incidents", "Open incidents", "count", lambda k: open_incidents(k),
            lambda t: t.open_incidents, "incidents-open", "trustline-incidents", higher_is_better=False),
)  # fmt: skip


def _detail(measure: Measure, k: Kpis) -> str:
    ratios = {
        "edr_coverage": k.edr_coverage,
        "privileged_mfa": k.privileged_mfa,
        "privileged_phishing_resistant_mfa": k.privileged_phishing_resistant_mfa,
        "cloud_config_compliance": k.cloud_config_compliance,
        "patch_sla_compliance": patch_sla(k),
    }
    if (r := ratios.get(measure.key)) is not None:
        return f"{r.numerator} of {r.denominator}"
    if measure.key == "vulnerabilities_past_sla":
        return ", ".join(f"{p.severity} {p.open.breached}" for p in k.patching)
    if measure.key == "open_incidents":
        return ", ".join(f"{i.severity} {i.open}" for i in k.incidents)
    return ", ".join(f"{p.severity} {p.open.security_debt_seconds / 86400:.1f} d" for p in k.patching)


def headlines(k: Kpis, targets: Targets) -> list[Headline]:
    """Every headline KPI of `k` against its target."""
    return [Headline(m, m.read(k), m.target(targets), _detail(m, k)) for m in MEASURES]


def formatter(kind: Kind) -> Callable[[float], str]:
    """How values of one kind are shown (chart labels)."""
    return lambda value: shown(kind=kind, value=value)


def shown(h: Headline | None = None, *, kind: Kind | None = None, value: float | None = None) -> str:
    """A headline's value (or any value of a kind) as people read it."""
    if h is not None:
        kind, value = h.measure.kind, h.value
    if value is None:
        return "–"
    if kind == "ratio":
        return f"{value * 100:.1f} %"
    if kind == "days":
        return f"{value / 86400:.1f} d"
    return f"{int(value)}"
