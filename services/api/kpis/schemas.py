"""Headline KPIs as the API returns them: exact counts, ratios with their parts, exact percentiles."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from trustline.shared.metrics.samples import Window

# Where the KPIs come from: the stored snapshot, or computed for an instant none was stored at.
Source = Literal["stored", "computed"]


class Ratio(BaseModel):
    """A ratio with its parts; `ratio` is null when the population is empty (no data is not zero)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"numerator": 941, "denominator": 1000, "ratio": 0.941}]}
    )
    numerator: int
    denominator: int
    ratio: float | None


class OpenVulnerabilities(BaseModel):
    """Open cycles at T by SLA status, and the time past SLA of those not accepted."""

    within_sla: int
    breached: int
    accepted: int
    security_debt_seconds: float = Field(
        description="sum over open, not accepted cycles of the time past their SLA (security_debt_seconds)"
    )


class Patching(BaseModel):
    """Remediation in the window for one severity: SLA compliance and exact time-to-patch statistics."""

    severity: str
    sla_days: int
    remediations: int
    sla_compliance: Ratio
    mean_seconds: float | None
    p50_seconds: float | None = Field(description="exact median (linear interpolation); null in history")
    p90_seconds: float | None = Field(
        description="exact 90th percentile (linear interpolation); null in history"
    )
    open: OpenVulnerabilities


class Incidents(BaseModel):
    """Incident response for one severity: mean time to each stage over the window, and open incidents."""

    severity: str
    mtta_seconds: float | None
    mttc_seconds: float | None
    mttr_seconds: float | None = Field(
        description="mean of opened -> restored (resolve when no restore came)"
    )
    restored: int
    open: int


class Kpis(BaseModel):
    """The headline KPIs as of one instant."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "as_of": "2026-11-28T09:00:00Z",
                    "source": "stored",
                    "window": "30d",
                    "edr_coverage": {"numerator": 941, "denominator": 1000, "ratio": 0.941},
                    "edr_unknown_assets": 3,
                    "privileged_mfa": {"numerator": 48, "denominator": 50, "ratio": 0.96},
                    "privileged_phishing_resistant_mfa": {"numerator": 30, "denominator": 50, "ratio": 0.6},
                    "cloud_config_compliance": {"numerator": 870, "denominator": 900, "ratio": 0.9667},
                    "patching": [],
                    "incidents": [],
                    "risk_acceptances": {"approved": 4, "proposed": 1},
                    "risk_acceptances_expiring_7d": 1,
                }
            ]
        }
    )
    as_of: datetime
    source: Source = Field(
        description="`stored`: read from the snapshot the aggregator stored; `computed`: evaluated for `at`"
    )
    window: Window
    edr_coverage: Ratio
    edr_unknown_assets: int | None
    privileged_mfa: Ratio
    privileged_phishing_resistant_mfa: Ratio
    cloud_config_compliance: Ratio
    patching: list[Patching]
    incidents: list[Incidents]
    risk_acceptances: dict[str, int]
    risk_acceptances_expiring_7d: int


class HistoryPoint(BaseModel):
    """KPIs from the stored snapshot nearest before one step (exact percentiles are not stored)."""

    at: datetime
    snapshot_at: datetime | None = Field(description="the stored snapshot used; null when none in the step")
    kpis: Kpis | None


class History(BaseModel):
    """A KPI series from the stored metric history."""

    start: datetime
    end: datetime
    step_seconds: int
    window: Window
    points: list[HistoryPoint]
