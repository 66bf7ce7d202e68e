"""The risk-acceptance registry: proposals, four-eyes decisions, expiry and an append-only audit trail."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from trustline.shared.policy import Policy
from trustline.shared.sql import Query, execute, fetch, fetchrow

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
_AUDIT = Query(
    "INSERT INTO risk_acceptance_audit (acceptance_id, at, action, actor, status, detail) "
    "VALUES (:acceptance_id, :at, :action, :actor, :status, :detail::jsonb)"
)
_PROPOSE = Query(
    "INSERT INTO risk_acceptances (title, justification, compensating_controls, vulnerability_id, "
    "asset_id, control_id, resource_id, business_unit, severity, business_owner, requested_by, "
    "status, created_at, expires_at) "
    "VALUES (:title, :justification, :compensating_controls, :vulnerability_id, :asset_id, :control_id, "
    ":resource_id, :business_unit, :severity, :business_owner, :requested_by, 'proposed', :created_at, "
    ":expires_at) RETURNING *"
)
_LOCKED = Query("SELECT * FROM risk_acceptances WHERE id = :id FOR UPDATE")
# One statement per decision; the column names come from this closed set, never from input.
_DECIDED = {
    action: Query(
        f"UPDATE risk_acceptances SET status = :status, {by} = :actor, {at} = :at WHERE id = :id RETURNING *"
    )
    for action, (by, at) in {
        "approved": ("approved_by", "approved_at"),
        "rejected": ("rejected_by", "rejected_at"),
        "revoked": ("revoked_by", "revoked_at"),
    }.items()
}
_EXPIRE_DUE = Query(
    "UPDATE risk_acceptances SET status = 'expired' WHERE status = 'approved' AND expires_at <= :now "
    "RETURNING id, expires_at"
)
_GET = Query("SELECT * FROM risk_acceptances WHERE id = :id")
_TRAIL = Query(
    "SELECT at, action, actor, status, detail::text AS detail FROM risk_acceptance_audit "
    "WHERE acceptance_id = :acceptance_id ORDER BY seq"
)
_LIST = Query(
    "SELECT * FROM risk_acceptances WHERE (:status::text IS NULL OR status = :status) "
    "AND (:severity::text IS NULL OR severity = :severity) "
    "AND (:business_unit::text IS NULL OR business_unit = :business_unit) "
    "AND (:expires_after::timestamptz IS NULL OR expires_at > :expires_after) "
    "AND (:expires_before::timestamptz IS NULL OR expires_at <= :expires_before) "
    "AND (:created_after::timestamptz IS NULL OR created_at > :created_after) "
    "AND (:created_before::timestamptz IS NULL OR created_at <= :created_before) "
    "ORDER BY created_at DESC, id LIMIT :limit OFFSET :offset"
)
# Proposals someone could still approve (their expiry ahead), oldest first: the approvers' queue.
_OPEN_PROPOSALS = Query(
    "SELECT * FROM risk_acceptances WHERE status = 'proposed' AND expires_at > :now "
    "ORDER BY created_at, id LIMIT :limit"
)


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
    await execute(
        conn,
        _AUDIT,
        acceptance_id=acceptance_id,
        at=at,
        action=action,
        actor=actor,
        status=status,
        detail=json.dumps(detail or {}, default=str),
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
        row = await fetchrow(
            conn,
            _PROPOSE,
            title=data.title,
            justification=data.justification,
            compensating_controls=data.compensating_controls,
            vulnerability_id=data.scope.vulnerability_id,
            asset_id=data.scope.asset_id,
            control_id=data.scope.control_id,
            resource_id=data.scope.resource_id,
            business_unit=data.scope.business_unit,
            severity=data.severity,
            business_owner=data.business_owner,
            requested_by=actor,
            created_at=now,
            expires_at=data.expires_at,
        )
        assert row is not None  # INSERT ... RETURNING answers the row it inserted
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
    row = await fetchrow(conn, _LOCKED, id=acceptance_id)
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
        row = await fetchrow(conn, _DECIDED[action], id=acceptance_id, status=status, actor=actor, at=now)
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
        rows = await fetch(conn, _EXPIRE_DUE, now=now)
        for r in rows:
            await _audit(
                conn, r["id"], at=r["expires_at"], action="expired", actor="trustline", status="expired"
            )
    return len(rows)


async def get(conn: asyncpg.Connection, *, acceptance_id: UUID) -> tuple[Acceptance, list[AuditEntry]]:
    """One acceptance and its audit trail, oldest first."""
    row = await fetchrow(conn, _GET, id=acceptance_id)
    if row is None:
        raise NotFound(f"no risk acceptance {acceptance_id}")
    trail = await fetch(conn, _TRAIL, acceptance_id=acceptance_id)
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
    expires: tuple[datetime | None, datetime | None] = (None, None),
    created: tuple[datetime | None, datetime | None] = (None, None),
) -> list[Acceptance]:
    """Acceptances, newest first, filtered by whatever is given (`expires` and `created` are (after,
    up to and including] ranges, either end open when None)."""
    rows = await fetch(
        conn,
        _LIST,
        status=status,
        severity=severity,
        business_unit=business_unit,
        expires_after=expires[0],
        expires_before=expires[1],
        created_after=created[0],
        created_before=created[1],
        limit=limit,
        offset=offset,
    )
    return [_acceptance(r) for r in rows]


async def awaiting(
    conn: asyncpg.Connection, *, approver: str, now: datetime, limit: int = 500
) -> list[Acceptance]:
    """Proposals `approver` may decide: still approvable, and not their own (four eyes, look-alikes too)."""
    me = _actor(approver)
    rows = await fetch(conn, _OPEN_PROPOSALS, now=now, limit=limit)
    return [_acceptance(r) for r in rows if not principals.same_person(me, r["requested_by"])]
