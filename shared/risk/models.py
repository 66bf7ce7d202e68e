"""What a risk acceptance is made of, as callers send it and as Trustline returns it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..severity import SlaSeverity
from ..types import LINE_PATTERN, TEXT_PATTERN, BusinessUnit, Instant

Status = Literal["proposed", "approved", "rejected", "expired", "revoked"]
# What a scope names: vulnerabilities (maybe on one asset) or cloud checks (maybe on one resource).
Findings = Literal["vulnerabilities", "cloud_checks"]
# One-line fields (titles, names, ids) and free text (justifications), as PostgreSQL can store them: a
# pattern also refuses lone surrogates, which JSON can carry but UTF-8 cannot.
Line = Annotated[str, Field(pattern=LINE_PATTERN)]
Text = Annotated[str, Field(pattern=TEXT_PATTERN)]
_Id = Field(default=None, min_length=1, max_length=512)


class Scope(BaseModel):
    """What is accepted: a vulnerability (maybe on one asset) or a control (maybe on one resource)."""

    model_config = ConfigDict(extra="forbid")
    vulnerability_id: Line | None = _Id
    asset_id: Line | None = _Id
    control_id: Line | None = _Id
    resource_id: Line | None = _Id
    business_unit: BusinessUnit | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Scope:
        if (self.vulnerability_id is None) == (self.control_id is None):
            raise ValueError("scope needs exactly one of vulnerability_id or control_id")
        if self.vulnerability_id is not None and self.resource_id is not None:
            raise ValueError("resource_id goes with control_id, not vulnerability_id")
        if self.control_id is not None and (self.asset_id is not None or self.business_unit is not None):
            raise ValueError("asset_id and business_unit limit vulnerability scopes only")
        return self


class AcceptanceCreate(BaseModel):
    """A proposal: documented, owned by the business, time-bound."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Legacy VPN appliance awaiting vendor fix",
                    "justification": "The vendor ships the fix in the next maintenance window.",
                    "compensating_controls": "Management interface reachable from the admin VLAN only.",
                    "scope": {"vulnerability_id": "CVE-2026-1234", "business_unit": "payments"},
                    "severity": "critical",
                    "business_owner": "Head of Payments",
                    "expires_at": "2026-12-20T00:00:00Z",
                }
            ]
        },
    )
    title: Line = Field(min_length=1, max_length=200)
    justification: Text = Field(min_length=1, max_length=4000)
    compensating_controls: Text = Field(default="", max_length=4000)
    scope: Scope
    severity: SlaSeverity
    business_owner: Line = Field(min_length=1, max_length=200)
    # An offset-less instant is UTC; instants outside [1970, 2200) are refused.
    expires_at: Instant


class Acceptance(BaseModel):
    """A registry entry."""

    id: UUID
    title: str
    justification: str
    compensating_controls: str
    scope: Scope
    severity: str
    business_owner: str
    requested_by: str
    approved_by: str | None
    rejected_by: str | None
    revoked_by: str | None
    status: Status
    created_at: datetime
    approved_at: datetime | None
    rejected_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime


class AuditEntry(BaseModel):
    """One change, as it was recorded."""

    at: datetime
    action: str
    actor: str
    status: Status
    detail: dict[str, object]


class Decision(BaseModel):
    """Why an acceptance was approved, rejected or revoked (kept in the audit trail)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "compensating controls verified"}]}
    )
    reason: Text | None = Field(default=None, max_length=2000)


class Coverage(BaseModel):
    """What a scope covers right now: findings at or below the acceptance's severity, and those above."""

    as_of: datetime
    findings: Findings
    covered: int
    exceeding: int


class Proposed(Acceptance):
    """A new proposal with what it would cover now; warnings never block a proposal."""

    coverage: Coverage
    warnings: list[str]


class AcceptanceDetail(BaseModel):
    """One acceptance with its audit trail, oldest change first."""

    acceptance: Acceptance
    audit: list[AuditEntry]
