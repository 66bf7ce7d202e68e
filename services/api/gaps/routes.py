"""/api/v1/gaps: the rows behind the gap metrics, as of the latest snapshot or `?at=`, paginated."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from trustline.shared.events.schemas import OsFamily, Provider
from trustline.shared.severity import SlaSeverity
from trustline.shared.types import BusinessUnit, Instant

from ..deps import Conn, Reader
from . import service
from .schemas import (
    EdrUncovered,
    EdrUnknown,
    FailingCheck,
    IdentityGap,
    OpenIncident,
    Page,
    Population,
    Strength,
    VulnerabilityPastSla,
)

router = APIRouter(prefix="/api/v1/gaps", tags=["drill-downs"])

At = Annotated[
    Instant | None,
    Query(description="RFC 3339 instant (no offset: UTC); default: the latest snapshot's (as /metrics)"),
]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000)]
Unit = Annotated[BusinessUnit | None, Query(description="exact business unit (`unassigned` for unknown)")]


@router.get("/edr-uncovered", summary="Assets expected to run EDR but not covered")
async def edr_uncovered(
    request: Request,
    conn: Conn,
    who: Reader,
    at: At = None,
    business_unit: Unit = None,
    os_family: OsFamily | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[EdrUncovered]:
    """In scope (not retired, EDR required, seen within inventory_stale_after), no recent healthy sensor."""
    return await service.edr_uncovered(
        conn=conn,
        at=await service.resolve_at(conn=conn, at=at),
        policy=request.app.state.policy,
        business_unit=business_unit,
        os_family=os_family,
        limit=limit,
        offset=offset,
    )


@router.get("/edr-unknown", summary="EDR-only assets the inventory has never seen (shadow IT)")
async def edr_unknown(
    request: Request, conn: Conn, who: Reader, at: At = None, limit: Limit = 100, offset: Offset = 0
) -> Page[EdrUnknown]:
    """A healthy heartbeat within edr_heartbeat_max_age from an asset never observed by the inventory."""
    return await service.edr_unknown(
        conn=conn,
        at=await service.resolve_at(conn=conn, at=at),
        policy=request.app.state.policy,
        limit=limit,
        offset=offset,
    )


@router.get("/identities-without-mfa", summary="Active identities without MFA")
async def identities_without_mfa(
    request: Request,
    conn: Conn,
    who: Reader,
    at: At = None,
    business_unit: Unit = None,
    population: Annotated[
        Population, Query(description="privileged (default) or standard identities")
    ] = "privileged",
    strength: Annotated[
        Strength, Query(description="`phishing_resistant`: also those with weak factors only")
    ] = "any",
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[IdentityGap]:
    """No enrolled factor at all, or (strength=phishing_resistant) none from the policy's strong list."""
    return await service.identities_without_mfa(
        conn=conn,
        at=await service.resolve_at(conn=conn, at=at),
        policy=request.app.state.policy,
        population=population,
        phishing_resistant=strength == "phishing_resistant",
        business_unit=business_unit,
        limit=limit,
        offset=offset,
    )


@router.get("/vulnerabilities-past-sla", summary="Open vulnerabilities past SLA, most overdue first")
async def vulnerabilities_past_sla(
    request: Request,
    conn: Conn,
    who: Reader,
    at: At = None,
    business_unit: Unit = None,
    severity: SlaSeverity | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[VulnerabilityPastSla]:
    """Open cycles older than sla_days, not covered by a risk acceptance, on assets not retired."""
    return await service.vulnerabilities_past_sla(
        conn=conn,
        at=await service.resolve_at(conn=conn, at=at),
        policy=request.app.state.policy,
        business_unit=business_unit,
        severity=severity,
        limit=limit,
        offset=offset,
    )


@router.get("/cloud-checks-failing", summary="Failing cloud configuration checks")
async def cloud_checks_failing(
    request: Request,
    conn: Conn,
    who: Reader,
    at: At = None,
    provider: Provider | None = None,
    severity: SlaSeverity | None = None,
    include_accepted: Annotated[
        bool, Query(description="also list failures under a risk acceptance")
    ] = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[FailingCheck]:
    """Fresh (evaluated within cloud_check_stale_after), not muted checks whose latest status is fail."""
    return await service.cloud_checks_failing(
        conn=conn,
        at=await service.resolve_at(conn=conn, at=at),
        policy=request.app.state.policy,
        provider=provider,
        severity=severity,
        include_accepted=include_accepted,
        limit=limit,
        offset=offset,
    )


@router.get("/incidents-open", summary="Open incidents, most severe and oldest first")
async def incidents_open(
    conn: Conn,
    who: Reader,
    at: At = None,
    severity: SlaSeverity | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[OpenIncident]:
    """Opened and not resolved at T, with the stage times reached so far."""
    return await service.incidents_open(
        conn=conn,
        at=await service.resolve_at(conn=conn, at=at),
        severity=severity,
        limit=limit,
        offset=offset,
    )
