"""The risk-acceptance registry: proposals, four-eyes decisions, expiry and an append-only audit trail."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from trustline.shared.policy import Policy

from ..auth import principals
from . import coverage
from .models import Acceptance, AcceptanceCreate, AuditEntry, Proposed, Scope


class RegistryError(ValueError):
    """A request the registry refuses; the message says why."""


class NotFound(RegistryError):
    """No acceptance with that id."""


class Forbidden(RegistryError):
    """The caller may not make this change (e.g. approving their own proposal)."""


class Conflict(RegistryError):
    """The acceptance is not in a status that allows this change."""


_SCOPE = ("vulnerability_id", "asset_id", "control_id", "resource_id", "business_unit")


def _acceptance(row: Any) -> Acceptance:
    data = dict(row)
    # Stored rows were validated on the way in (older ones by laxer rules): read them back as they are.
    scope = Scope.model_construct(**{k: data.pop(k) for k in _SCOPE})
    return Acceptance(scope=scope, **data)


def _actor(name: str) -> str:
    """The canonical form of an acting principal (callers outside the API pass plain names)."""
    try:
        return principals.canonical(name)
    except principals.InvalidName as exc:
        raise RegistryError(str(exc)) from exc


async def _audit(
    conn: asyncpg.Connection,
    acceptance_id: UUID,
    *,
    at: datetime,
    action: str,
    actor: str,
    status: str,
    detail: dict[str, object] | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO risk_acceptance_audit (acceptance_id, at, action, actor, status, detail) "
        "VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
        acceptance_id,
        at,
        action,
        actor,
        status,
        json.dumps(detail or {}, default=str),
    )


async def propose(
    conn: asyncpg.Connection, *, data: AcceptanceCreate, actor: str, now: datetime, policy: Policy
) -> Acceptance:
    """Record a proposal; its expiry must lie within the policy's limit for its severity."""
    actor = _actor(actor)
    limit = timedelta(days=policy.risk_acceptance_max_days.days(data.severity))
    if data.expires_at <= now:
        raise RegistryError("expires_at must be in the future")
    if data.expires_at > now + limit:
        raise RegistryError(f"a {data.severity} acceptance may last at most {limit.days} days")
    async with conn.transaction():
        row = await conn.fetchrow(
            "INSERT INTO risk_acceptances (title, justification, compensating_controls, vulnerability_id, "
            "asset_id, control_id, resource_id, business_unit, severity, business_owner, requested_by, "
            "status, created_at, expires_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'proposed', $12, $13) RETURNING *",
            data.title,
            data.justification,
            data.compensating_controls,
            data.scope.vulnerability_id,
            data.scope.asset_id,
            data.scope.control_id,
            data.scope.resource_id,
            data.scope.business_unit,
            data.severity,
            data.business_owner,
            actor,
            now,
            data.expires_at,
        )
        await _audit(
            conn,
            row["id"],
            at=now,
            action="proposed",
            actor=actor,
            status="proposed",
            detail=data.model_dump(mode="json"),
        )
    return _acceptance(row)


async def propose_with_coverage(
    conn: asyncpg.Connection, *, data: AcceptanceCreate, actor: str, now: datetime, policy: Policy
) -> Proposed:
    """Record a proposal and report what its scope covers now at or below its severity, and above it."""
    made = await propose(conn, data=data, actor=actor, now=now, policy=policy)
    found = await coverage.measure(conn, scope=data.scope, severity=data.severity, now=now, policy=policy)
    return Proposed(**made.model_dump(), coverage=found, warnings=coverage.warnings(found, data.severity))


async def _locked(conn: asyncpg.Connection, acceptance_id: UUID) -> Any:
    row = await conn.fetchrow("SELECT * FROM risk_acceptances WHERE id = $1 FOR UPDATE", acceptance_id)
    if row is None:
        raise NotFound(f"no risk acceptance {acceptance_id}")
    return row


async def _decide(
    conn: asyncpg.Connection,
    acceptance_id: UUID,
    *,
    actor: str,
    now: datetime,
    action: str,
    status: str,
    reason: str | None,
) -> Acceptance:
    actor = _actor(actor)
    async with conn.transaction():
        row = await _locked(conn, acceptance_id)
        if action in ("approved", "rejected") and row["status"] != "proposed":
            raise Conflict(f"only a proposed acceptance can be {action}; this one is {row['status']}")
        if action == "revoked" and (row["status"] != "approved" or row["expires_at"] <= now):
            raise Conflict(
                f"only an approved, unexpired acceptance can be revoked; this one is {row['status']}"
            )
        if action == "approved":
            # Canonical names compared, look-alikes too: `аlice` (Cyrillic а) is no second pair of eyes.
            if principals.same_person(actor, row["requested_by"]):
                raise Forbidden("four eyes: the approver must be someone other than the requester")
            if row["expires_at"] <= now:
                raise Conflict("this proposal's expiry has already passed; propose it again")
        by, at = {
            "approved": ("approved_by", "approved_at"),
            "rejected": ("rejected_by", "rejected_at"),
            "revoked": ("revoked_by", "revoked_at"),
        }[action]
        row = await conn.fetchrow(
            f"UPDATE risk_acceptances SET status = $2, {by} = $3, {at} = $4 WHERE id = $1 RETURNING *",
            acceptance_id,
            status,
            actor,
            now,
        )
        await _audit(
            conn,
            acceptance_id,
            at=now,
            action=action,
            actor=actor,
            status=status,
            detail={"reason": reason} if reason else None,
        )
    return _acceptance(row)


async def approve(
    conn: asyncpg.Connection, *, acceptance_id: UUID, actor: str, now: datetime, reason: str | None = None
) -> Acceptance:
    """Approve a proposal (never by its own requester)."""
    return await _decide(
        conn, acceptance_id, actor=actor, now=now, action="approved", status="approved", reason=reason
    )


async def reject(
    conn: asyncpg.Connection, *, acceptance_id: UUID, actor: str, now: datetime, reason: str | None = None
) -> Acceptance:
    """Reject a proposal."""
    return await _decide(
        conn, acceptance_id, actor=actor, now=now, action="rejected", status="rejected", reason=reason
    )


async def revoke(
    conn: asyncpg.Connection, *, acceptance_id: UUID, actor: str, now: datetime, reason: str | None = None
) -> Acceptance:
    """End an approved acceptance before its expiry: its findings count again at once."""
    return await _decide(
        conn, acceptance_id, actor=actor, now=now, action="revoked", status="revoked", reason=reason
    )


async def expire_due(conn: asyncpg.Connection, *, now: datetime) -> int:
    """Mark approved acceptances whose expiry has passed as expired, auditing each at its expiry time."""
    async with conn.transaction():
        rows = await conn.fetch(
            "UPDATE risk_acceptances SET status = 'expired' WHERE status = 'approved' AND expires_at <= $1 "
            "RETURNING id, expires_at",
            now,
        )
        for r in rows:
            await _audit(
                conn, r["id"], at=r["expires_at"], action="expired", actor="trustline", status="expired"
            )
    return len(rows)


async def get(conn: asyncpg.Connection, *, acceptance_id: UUID) -> tuple[Acceptance, list[AuditEntry]]:
    """One acceptance and its audit trail, oldest first."""
    row = await conn.fetchrow("SELECT * FROM risk_acceptances WHERE id = $1", acceptance_id)
    if row is None:
        raise NotFound(f"no risk acceptance {acceptance_id}")
    trail = await conn.fetch(
        "SELECT at, action, actor, status, detail::text AS detail FROM risk_acceptance_audit "
        "WHERE acceptance_id = $1 ORDER BY seq",
        acceptance_id,
    )
    entries = [AuditEntry(**{**dict(r), "detail": json.loads(r["detail"])}) for r in trail]
    return _acceptance(row), entries


async def list_acceptances(
    conn: asyncpg.Connection,
    *,
    status: str | None = None,
    severity: str | None = None,
    business_unit: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Acceptance]:
    """Acceptances, newest first, filtered by whatever is given."""
    rows = await conn.fetch(
        "SELECT * FROM risk_acceptances WHERE ($1::text IS NULL OR status = $1) "
        "AND ($2::text IS NULL OR severity = $2) AND ($3::text IS NULL OR business_unit = $3) "
        "ORDER BY created_at DESC, id LIMIT $4 OFFSET $5",
        status,
        severity,
        business_unit,
        limit,
        offset,
    )
    return [_acceptance(r) for r in rows]
