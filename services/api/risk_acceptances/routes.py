"""/api/v1/risk-acceptances: propose, decide, list and read, each change attributed to the calling key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Query, Request

from trustline.shared.auth.keys import Principal
from trustline.shared.risk import service
from trustline.shared.risk.models import (
    Acceptance,
    AcceptanceCreate,
    AcceptanceDetail,
    Decision,
    Proposed,
    Status,
)
from trustline.shared.severity import SlaSeverity
from trustline.shared.types import BusinessUnit

from ..deps import Conn, Reader, requires

router = APIRouter(prefix="/api/v1/risk-acceptances", tags=["risk acceptances"])
Proposer = Annotated[Principal, Depends(requires("risk:propose"))]
Approver = Annotated[Principal, Depends(requires("risk:approve"))]
# The reason is optional, and so is the body that carries it.
OptionalDecision = Annotated[
    Decision | None,
    Body(openapi_examples={"reason": {"summary": "With a reason", "value": {"reason": "controls verified"}}}),
]


def _reason(body: Decision | None) -> str | None:
    return body.reason if body is not None else None


@router.post("", status_code=201, summary="Propose a risk acceptance")
async def propose(body: AcceptanceCreate, request: Request, conn: Conn, who: Proposer) -> Proposed:
    """Record a proposal by the calling principal, with what it covers now; someone else must approve it."""
    return await service.propose_with_coverage(
        conn, data=body, actor=who.name, now=datetime.now(UTC), policy=request.app.state.policy
    )


@router.post("/{acceptance_id}/approve", summary="Approve (four eyes: never the requester)")
async def approve(
    acceptance_id: UUID, conn: Conn, who: Approver, body: OptionalDecision = None
) -> Acceptance:
    """Approve a proposal."""
    return await service.approve(
        conn, acceptance_id=acceptance_id, actor=who.name, now=datetime.now(UTC), reason=_reason(body)
    )


@router.post("/{acceptance_id}/reject", summary="Reject a proposal")
async def reject(acceptance_id: UUID, conn: Conn, who: Approver, body: OptionalDecision = None) -> Acceptance:
    """Reject a proposal."""
    return await service.reject(
        conn, acceptance_id=acceptance_id, actor=who.name, now=datetime.now(UTC), reason=_reason(body)
    )


@router.post("/{acceptance_id}/revoke", summary="End an approved acceptance now")
async def revoke(acceptance_id: UUID, conn: Conn, who: Approver, body: OptionalDecision = None) -> Acceptance:
    """Revoke an approved acceptance: its findings count again at once."""
    return await service.revoke(
        conn, acceptance_id=acceptance_id, actor=who.name, now=datetime.now(UTC), reason=_reason(body)
    )


@router.get("", summary="List acceptances, newest first")
async def list_(
    conn: Conn,
    who: Reader,
    status: Status | None = None,
    severity: SlaSeverity | None = None,
    business_unit: BusinessUnit | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> list[Acceptance]:
    """Filter by status, severity and business unit; paginate with limit and offset."""
    return await service.list_acceptances(
        conn, status=status, severity=severity, business_unit=business_unit, limit=limit, offset=offset
    )


@router.get("/{acceptance_id}", summary="One acceptance with its audit trail")
async def read(acceptance_id: UUID, conn: Conn, who: Reader) -> AcceptanceDetail:
    """The acceptance and every change made to it."""
    acceptance, audit = await service.get(conn, acceptance_id=acceptance_id)
    return AcceptanceDetail(acceptance=acceptance, audit=audit)
