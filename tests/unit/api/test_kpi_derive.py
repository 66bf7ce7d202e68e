"""KPI derivation from samples: ratios with their parts, absent over empty populations, means per window."""

from __future__ import annotations

import pytest

from tests.scenario import T
from trustline.api.kpis.derive import kpis_from_samples
from trustline.api.kpis.service import KpiError, parse_step
from trustline.shared.metrics.samples import Sample
from trustline.shared.policy import Policy


def s(name: str, value: float, **labels: str) -> Sample:
    return Sample(name, labels, value)


def test_ratios_sum_across_labels_and_are_absent_without_a_population() -> None:
    samples = [
        s("trustline_edr_assets_expected", 4, business_unit="a", os_family="linux"),
        s("trustline_edr_assets_covered", 3, business_unit="a", os_family="linux"),
        s("trustline_edr_assets_expected", 6, business_unit="b", os_family="windows"),
        s("trustline_edr_assets_covered", 0, business_unit="b", os_family="windows"),
        s("trustline_patch_remediations", 1, business_unit="a", severity="low", window="30d", sla="met"),
        s("trustline_patch_remediations", 3, business_unit="b", severity="low", window="30d", sla="missed"),
        s("trustline_patch_remediations", 9, business_unit="b", severity="low", window="90d", sla="met"),
        s("trustline_time_to_patch_seconds_sum", 400, business_unit="a", severity="low", window="30d"),
        s("trustline_time_to_patch_seconds_count", 4, business_unit="a", severity="low", window="30d"),
        s("trustline_risk_acceptances", 2, status="approved"),
    ]
    k = kpis_from_samples(samples, at=T, source="stored", window="30d", policy=Policy(), exact={})
    assert (k.edr_coverage.numerator, k.edr_coverage.denominator, k.edr_coverage.ratio) == (3, 10, 0.3)
    low = next(p for p in k.patching if p.severity == "low")
    # 30 d only: 1 met of 1 + 3; the 90 d sample is another window.
    assert (low.remediations, low.sla_compliance.ratio, low.mean_seconds) == (4, 0.25, 100)
    assert low.sla_days == 120
    assert k.privileged_mfa.ratio is None and k.cloud_config_compliance.ratio is None
    assert k.edr_unknown_assets is None  # no EDR data at all: unknown, not zero
    assert k.risk_acceptances == {"approved": 2}


@pytest.mark.parametrize(("text", "seconds"), [("900", 900), ("15m", 900), ("6h", 21600), ("1d", 86400)])
def test_steps(text: str, seconds: int) -> None:
    assert parse_step(text) == seconds


@pytest.mark.parametrize("text", ["0", "0d", "-1h", "1w", "soon", ""])
def test_bad_steps(text: str) -> None:
    with pytest.raises(KpiError):
        parse_step(text)
