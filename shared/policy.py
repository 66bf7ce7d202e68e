"""The policy model: SLAs, staleness windows and MFA strengths, loaded from YAML."""

from __future__ import annotations

import re
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from .severity import SLA_SEVERITIES

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> Any:
    """Accept '24h', '30d', '90m' (and anything pydantic already takes for a timedelta)."""
    if isinstance(value, str) and (m := _DURATION.match(value)):
        return timedelta(seconds=float(m.group(1)) * _UNIT_SECONDS[m.group(2)])
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class PerSeverity(BaseModel):
    """A positive number of days for each SLA severity."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    critical: int = Field(gt=0)
    high: int = Field(gt=0)
    medium: int = Field(gt=0)
    low: int = Field(gt=0)

    def days(self, severity: str) -> int:
        """Days for one severity."""
        if severity not in SLA_SEVERITIES:
            raise KeyError(severity)
        return int(getattr(self, severity))


class Targets(BaseModel):
    """What leadership aims for: the line each headline KPI is judged against on the pages and the report."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    edr_coverage: float = Field(default=0.95, ge=0, le=1)
    privileged_mfa: float = Field(default=1.0, ge=0, le=1)
    privileged_phishing_resistant_mfa: float = Field(default=0.8, ge=0, le=1)
    cloud_config_compliance: float = Field(default=0.95, ge=0, le=1)
    patch_sla_compliance: float = Field(default=0.9, ge=0, le=1)
    vulnerabilities_past_sla: int = Field(default=0, ge=0)
    open_incidents: int = Field(default=0, ge=0)


class Policy(BaseModel):
    """Business policy; every field has the default of the metrics contract."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    sla_days: PerSeverity = PerSeverity(critical=7, high=30, medium=90, low=120)
    edr_heartbeat_max_age: Duration = timedelta(hours=24)
    inventory_stale_after: Duration = timedelta(days=30)
    cloud_check_stale_after: Duration = timedelta(days=7)
    phishing_resistant_factors: tuple[str, ...] = ("webauthn", "fido2", "piv", "smartcard")
    risk_acceptance_max_days: PerSeverity = PerSeverity(critical=30, high=90, medium=180, low=365)
    targets: Targets = Targets()


def load_policy(path: Path | None = None) -> Policy:
    """Load the policy from a YAML file, or the shipped defaults when no file is given."""
    if path is None:
        text = resources.files("trustline.shared").joinpath("policy.default.yaml").read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    raw = yaml.safe_load(text) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"policy file must hold a mapping, got {type(raw).__name__}")
    return Policy.model_validate(raw)
