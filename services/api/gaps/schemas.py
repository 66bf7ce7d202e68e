"""The rows behind each gap the metrics count, and the page that carries them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from trustline.shared.severity import SlaSeverity

Population = Literal["privileged", "standard"]
Strength = Literal["any", "phishing_resistant"]
EdrReason = Literal["no_sensor", "stale_heartbeat", "uninstalled"]
UncoveredReason = Literal["no_acceptance", "acceptance_ended", "acceptance_severity_exceeded"]
_UNCOVERED = (
    "why no risk acceptance covers it at T: `acceptance_severity_exceeded`: an acceptance in force names it, "
    "but the finding's severity at T is above the acceptance's (e.g. re-rated since); `acceptance_ended`: "
    "an acceptance that named it has expired or was revoked; `no_acceptance`: none was ever approved for it"
)
Item = TypeVar("Item", bound=BaseModel)


class Page(BaseModel, Generic[Item]):
    """One page of a drill-down as of one instant; `total` counts every row matching the filters."""

    as_of: datetime = Field(description="T: the latest snapshot's instant unless `at` was given")
    total: int = Field(ge=0, description="rows matching the filters (equals the matching metric at T)")
    limit: int
    offset: int
    items: list[Item]


def _example(**fields: JsonValue) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [fields]})


class EdrUncovered(BaseModel):
    """An asset expected to run EDR that is not covered at T."""

    model_config = _example(
        asset_id="host-0042", hostname="pay-lt-042", business_unit="payments", os_family="windows",
        kind="endpoint", last_seen="2026-10-01T08:00:00Z", last_healthy_heartbeat="2026-09-29T17:12:00Z",
        uninstalled_at=None, reason="stale_heartbeat",
    )  # fmt: skip
    asset_id: str
    hostname: str | None
    business_unit: str
    os_family: str
    kind: str
    last_seen: datetime
    last_healthy_heartbeat: datetime | None
    uninstalled_at: datetime | None
    reason: EdrReason = Field(
        description="`uninstalled`: removed after its last healthy heartbeat; `stale_heartbeat`: last "
        "healthy heartbeat older than edr_heartbeat_max_age; `no_sensor`: no healthy heartbeat ever received"
    )


class EdrUnknown(BaseModel):
    """A sensor reporting healthy from an asset the inventory has never observed (shadow IT)."""

    model_config = _example(asset_id="DESKTOP-7Q2LX", last_healthy_heartbeat="2026-10-01T11:40:00Z")
    asset_id: str
    last_healthy_heartbeat: datetime


class IdentityGap(BaseModel):
    """An active identity without MFA (or without a phishing-resistant factor)."""

    model_config = _example(
        user_id="alice@example.com", business_unit="payments", population="privileged", factors=["sms"]
    )
    user_id: str
    business_unit: str
    population: Population
    factors: list[str] = Field(description="factor types enrolled at T (empty: no MFA at all)")


class VulnerabilityPastSla(BaseModel):
    """An open, not accepted vulnerability cycle older than its SLA."""

    model_config = _example(
        asset_id="host-0042", vulnerability_id="CVE-2026-1234", severity="critical", kev=True,
        kev_due_date="2026-10-04", business_unit="payments", detected_at="2026-09-20T12:00:00Z",
        age_seconds=950400.0, sla_days=7,
        overdue_seconds=345600.0, reason="acceptance_severity_exceeded",
    )  # fmt: skip
    asset_id: str
    vulnerability_id: str
    severity: SlaSeverity
    kev: bool = Field(description="flagged known-exploited by the scanner, or in the KEV catalog at T")
    kev_due_date: date | None = Field(
        default=None, description="the KEV catalog's due date at T (remediate by the end of that day, UTC)"
    )
    business_unit: str = Field(description="the asset's business unit at T; `unassigned` when unknown")
    detected_at: datetime = Field(description="when this cycle opened (re-detections never restart it)")
    age_seconds: float = Field(description="T - detected_at, in seconds")
    sla_days: int = Field(description="the severity's SLA (policy sla_days), in days as the policy sets it")
    overdue_seconds: float = Field(
        description="age_seconds - sla_days x 86400 (their sum is security_debt_seconds); with `kev`, the "
        "time past the earlier of the catalog's due date and the SLA"
    )
    reason: UncoveredReason = Field(description=_UNCOVERED)


class FailingCheck(BaseModel):
    """A fresh, not muted cloud check whose latest evaluation failed."""

    model_config = _example(
        resource_id="arn:aws:s3:::billing-exports", control_id="s3_bucket_public_access", provider="aws",
        severity="high", account="123456789012", region="eu-west-1", framework="cis-aws-3.0",
        evaluated_at="2026-10-01T06:00:00Z", accepted=False, reason="no_acceptance",
    )  # fmt: skip
    resource_id: str
    control_id: str
    provider: str
    severity: SlaSeverity
    account: str | None
    region: str | None
    framework: str | None
    evaluated_at: datetime
    accepted: bool = Field(description="covered by a risk acceptance in force (listed only on request)")
    reason: UncoveredReason | None = Field(description=_UNCOVERED + "; null when accepted")


class OpenIncident(BaseModel):
    """An incident opened and not resolved at T."""

    model_config = _example(
        incident_id="INC-2041", severity="high", opened_at="2026-10-01T09:00:00Z",
        acknowledged_at="2026-10-01T09:05:00Z", contained_at=None, restored_at=None, age_seconds=10800.0,
    )  # fmt: skip
    incident_id: str
    severity: SlaSeverity
    opened_at: datetime
    acknowledged_at: datetime | None
    contained_at: datetime | None
    restored_at: datetime | None
    age_seconds: float = Field(description="T - opened_at")
