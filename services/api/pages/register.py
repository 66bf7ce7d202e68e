"""The risk register: the list with its filters and the approvers' queue, one acceptance with its audit
trail, the proposal form and the decisions. Every change goes through `trustline.shared.risk.service`,
attributed to the signed-in person, so four eyes, expiry limits and the audit trail are the API's own."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from trustline.shared.auth import principals
from trustline.shared.risk import service
from trustline.shared.risk.models import Decision
from trustline.shared.risk.service import Conflict, Forbidden, NotFound, RegistryError
from trustline.shared.severity import SLA_SEVERITIES

from ..deps import Conn
from .forms import (
    SCOPE_FIELDS,
    ProposalRefused,
    RegisterFilters,
    parse,
    posted,
    present,
    proposal,
    reasons,
    utc_now,
)
from .render import page
from .session import PageError, Person, Viewer, require

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
Action = Literal["approve", "reject", "revoke"]
_DECIDE = {"approve": service.approve, "reject": service.reject, "revoke": service.revoke}
_STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409}


def _flash(request: Request, *messages: str) -> None:
    request.session["flash"] = [*request.session.get("flash", []), *messages]


@router.get("/risk")
async def register(request: Request, conn: Conn, who: Viewer) -> Response:
    """The register, newest first, filtered; or the proposals waiting for my approval."""
    filters = parse(RegisterFilters, request.query_params)
    now = utc_now()
    if filters.view == "waiting":
        require(who, "risk:approve")
        rows = await service.awaiting(conn, approver=who.name, now=now)
        more = False
    else:
        rows = await service.list_acceptances(
            conn,
            status="approved" if filters.expiring else filters.status,
            severity=filters.severity,
            business_unit=filters.business_unit,
            expires=filters.expires(now),
            limit=PAGE_SIZE + 1,
            offset=filters.offset,
        )
        more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    return page(
        request, "register.html", rows=rows, filters=filters, more=more, page_size=PAGE_SIZE,
        severities=SLA_SEVERITIES,
    )  # fmt: skip


@router.get("/risk/new")
async def propose_form(request: Request, who: Viewer) -> Response:
    """The proposal form, its scope filled in from the query (a finding's "propose an acceptance")."""
    require(who, "risk:propose")
    given = present(request.query_params)
    values = {k: given[k][:512] for k in (*SCOPE_FIELDS, "severity") if k in given}
    return _form(request, values=values, errors=[])


def _form(request: Request, *, values: dict[str, str], errors: list[str], status: int = 200) -> Response:
    policy = request.app.state.policy
    limits = {s: policy.risk_acceptance_max_days.days(s) for s in SLA_SEVERITIES}
    return page(
        request, "propose.html", status=status, values=values, errors=errors, limits=limits,
        severities=SLA_SEVERITIES,
    )  # fmt: skip


@router.post("/risk/new")
async def propose(request: Request, conn: Conn, who: Viewer) -> Response:
    """Record the proposal as the signed-in person, or show the form again with every reason."""
    require(who, "risk:propose")
    values = await posted(request)
    try:
        made = await service.propose_with_coverage(
            conn, data=proposal(values), actor=who.name, now=utc_now(), policy=request.app.state.policy
        )
    except ProposalRefused as exc:
        return _form(request, values=values, errors=exc.messages, status=422)
    except RegistryError as exc:
        return _form(request, values=values, errors=[str(exc)], status=422)
    covered = made.coverage
    what = "open findings" if covered.findings == "vulnerabilities" else "failing checks"
    _flash(request, f"Proposed. It would cover {covered.covered} {what} now.", *made.warnings)
    return RedirectResponse(f"/risk/{made.id}", status_code=303)


async def _detail(
    request: Request, conn: Conn, who: Person, acceptance_id: UUID, *, error: str | None, status: int = 200
) -> Response:
    try:
        acceptance, audit = await service.get(conn, acceptance_id=acceptance_id)
    except NotFound as exc:
        raise PageError(404, str(exc)) from exc
    own = principals.same_person(who.name, acceptance.requested_by)
    return page(
        request, "acceptance.html", status=status, a=acceptance, audit=audit, own=own, error=error,
        expired=acceptance.expires_at <= utc_now(),
    )  # fmt: skip


@router.get("/risk/{acceptance_id}")
async def detail(request: Request, conn: Conn, who: Viewer, acceptance_id: UUID) -> Response:
    """One acceptance: scope, owner, expiry, its full audit trail, and the decisions the person may make."""
    return await _detail(request, conn, who, acceptance_id, error=None)


@router.post("/risk/{acceptance_id}/{action}")
async def decide(request: Request, conn: Conn, who: Viewer, acceptance_id: UUID, action: Action) -> Response:
    """Approve, reject or revoke as the signed-in person; the registry refuses what the API refuses."""
    require(who, "risk:approve")
    values = await posted(request)
    try:
        reason = Decision.model_validate({"reason": values.get("reason", "").strip() or None}).reason
    except ValidationError as exc:
        return await _detail(request, conn, who, acceptance_id, error="; ".join(reasons(exc)), status=422)
    if reason is None and action != "approve":
        return await _detail(
            request, conn, who, acceptance_id, error=f"Give a reason to {action}.", status=422
        )
    try:
        await _DECIDE[action](conn, acceptance_id=acceptance_id, actor=who.name, now=utc_now(), reason=reason)
    except RegistryError as exc:
        status = _STATUS.get(type(exc), 422)
        return await _detail(request, conn, who, acceptance_id, error=str(exc), status=status)
    _flash(request, {"approve": "Approved.", "reject": "Rejected.", "revoke": "Revoked."}[action])
    return RedirectResponse(f"/risk/{acceptance_id}", status_code=303)
