"""/api/v1/gaps: the rows behind the gap metrics, as of the latest snapshot or `?at=`, paginated."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

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


async def _slice(conn: Conn, at: At = None, limit: Limit = 100, offset: Offset = 0) -> service.Slice:
    return service.Slice(await service.resolve_at(conn=conn, at=at), limit, offset)


# `at`, `limit` and `offset`, with `at` resolved to the latest snapshot's instant when not given.
Paged = Annotated[service.Slice, Depends(_slice)]


@router.get("/edr-uncovered", summary="Assets expected to run EDR but not covered")
async def edr_uncovered(
    request: Request,
    conn: Conn,
    who: Reader,
    page: Paged,
    business_unit: Unit = None,
    os_family: OsFamily | None = None,
) -> Page[EdrUncovered]:
    """In scope (not retired, EDR required, seen within inventory_stale_after), no recent healthy sensor."""
    return await service.edr_uncovered(
        conn=conn,
        page=page,
        policy=request.app.state.policy,
        business_unit=business_unit,
        os_family=os_family,
    )


@router.get("/edr-unknown", summary="EDR-only assets the inventory has never seen (shadow IT)")
async def edr_unknown(request: Request, conn: Conn, who: Reader, page: Paged) -> Page[EdrUnknown]:
    """A healthy heartbeat within edr_heartbeat_max_age from an asset never observed by the inventory."""
    return await service.edr_unknown(
        conn=conn,
        page=page,
        policy=request.app.state.policy,
    )


@router.get("/identities-without-mfa", summary="Active identities without MFA")
async def identities_without_mfa(
    request: Request,
    conn: Conn,
    who: Reader,
    page: Paged,
    business_unit: Unit = None,
    population: Annotated[
        Population, Query(description="privileged (default) or standard identities")
    ] = "privileged",
    strength: Annotated[
        Strength, Query(description="`phishing_resistant`: also those with weak factors only")
    ] = "any",
) -> Page[IdentityGap]:
    """No enrolled factor at all, or (strength=phishing_resistant) none from the policy's strong list."""
    return await service.identities_without_mfa(
        conn=conn,
        page=page,
        policy=request.app.state.policy,
        population=population,
        phishing_resistant=strength == "phishing_resistant",
        business_unit=business_unit,
    )


@router.get("/vulnerabilities-past-sla", summary="Open vulnerabilities past SLA, most overdue first")
async def vulnerabilities_past_sla(
    request: Request,
    conn: Conn,
    who: Reader,
    page: Paged,
    business_unit: Unit = None,
    severity: SlaSeverity | None = None,
    kev: Annotated[
        bool,
        Query(
            description="only known-exploited vulnerabilities (the KEV catalog at T), past the earlier of "
            "the catalog's due date and the severity SLA"
        ),
    ] = False,
) -> Page[VulnerabilityPastSla]:
    """Open cycles older than sla_days (or, with `kev`, known-exploited ones past their catalog deadline), not
    covered by a risk acceptance, on assets not retired."""
    return await service.vulnerabilities_past_sla(
        conn=conn,
        page=page,
        policy=request.app.state.policy,
        business_unit=business_unit,
        severity=severity,
        kev=kev,
    )


@router.get("/cloud-checks-failing", summary="Failing cloud configuration checks")
async def cloud_checks_failing(
    request: Request,
    conn: Conn,
    who: Reader,
    page: Paged,
    provider: Provider | None = None,
    severity: SlaSeverity | None = None,
    include_accepted: Annotated[
        bool, Query(description="also list failures under a risk acceptance")
    ] = False,
) -> Page[FailingCheck]:
    """Fresh (evaluated within cloud_check_stale_after), not muted checks whose latest status is fail."""
    return await service.cloud_checks_failing(
        conn=conn,
        page=page,
        policy=request.app.state.policy,
        provider=provider,
        severity=severity,
        include_accepted=include_accepted,
    )


@router.get("/incidents-open", summary="Open incidents, most severe and oldest first")
async def incidents_open(
    conn: Conn,
    who: Reader,
    page: Paged,
    severity: SlaSeverity | None = None,
) -> Page[OpenIncident]:
    """Opened and not resolved at T, with the stage times reached so far."""
    return await service.incidents_open(
        conn=conn,
        page=page,
        severity=severity,
    )
