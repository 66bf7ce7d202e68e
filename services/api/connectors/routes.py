"""POST /api/v1/connectors/<tool>: a tool's own output in, contract events out (or the KEV catalog stored).

Same rules as `POST /api/v1/events`: a key with `events:write` that may write the events' source, the same
body limit, every event validated by the ingest decoder, all published or none, 202 only after the
broker's acknowledgement. PagerDuty's webhooks must also carry a valid `X-PagerDuty-Signature`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from trustline.shared.auth.keys import Principal
from trustline.shared.connectors import Options
from trustline.shared.connectors.pagerduty import signature_valid
from trustline.shared.events.decode import EARLIEST_EVENT_TIME, MAX_FUTURE
from trustline.shared.events.schemas import NO_CONTROL

from ..deps import Conn, requires
from ..errors import Problem
from ..events import service as events
from . import service
from .schemas import CatalogStored, ConnectorAccepted, request_body

router = APIRouter(prefix="/api/v1/connectors", tags=["connectors"])
Writer = Annotated[Principal, Depends(requires("events:write"))]
JSON_TYPES = frozenset({"application/json", "application/x-ndjson", "application/jsonl"})
KEV_SOURCE = "cisa/kev"
Identifier = Annotated[str, Query(min_length=1, max_length=512, pattern=NO_CONTROL)]
FullScan = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=512,
        pattern=NO_CONTROL,
        description="this document is a complete scan of the scope (e.g. `image:payments/api`): what it no "
        "longer reports is closed at its instant",
    ),
]
At = Annotated[
    datetime | None,
    Query(description="the scan's instant (RFC 3339 with an offset); default: the tool's own, else now"),
]
Asset = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=512,
        pattern=NO_CONTROL,
        description="scanners: the asset every finding is on (default: the scanned artifact's name)",
    ),
]
Source = Annotated[
    str | None,
    Query(min_length=1, max_length=512, pattern=NO_CONTROL, description="event source; default: the tool"),
]
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "the document or some of its records are refused: a reason per record, nothing kept"
    },
    403: {"description": "the key lacks `events:write`, or may not write the source"},
    413: {"description": "the body or one event is too large"},
    415: {"description": "not JSON"},
    422: {"description": "a query parameter is invalid (e.g. an instant without offset or out of range)"},
}
_BROKER: dict[int | str, dict[str, Any]] = {
    503: {"description": "the broker is unreachable; retry after `Retry-After` seconds"}
}


def _instant(at: datetime | None) -> datetime | None:
    """An instant the contract accepts for an event time: with an offset, from 2000 to 24 h ahead."""
    if at is None:
        return None
    if at.tzinfo is None:
        raise Problem(422, "Invalid request", "`at` needs an offset (RFC 3339), e.g. 2026-11-28T09:00:00Z")
    try:
        utc = at.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or utc < EARLIEST_EVENT_TIME or utc > datetime.now(UTC) + MAX_FUTURE:
        raise Problem(422, "Invalid request", "`at` must lie between 2000-01-01 and 24 h from now")
    return utc


async def _body(request: Request) -> bytes:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in JSON_TYPES:
        raise Problem(415, "Unsupported media type", f"send JSON ({', '.join(sorted(JSON_TYPES))})")
    return await request.body()


def _may_write(who: Principal, source: str) -> None:
    if not who.may_write(source):
        raise Problem(403, "Forbidden", f"key {who.name!r} may not write source {source!r}")


async def _answer(call: Callable[[], Awaitable[ConnectorAccepted]]) -> ConnectorAccepted:
    """The submission's answer, its refusals as problems (the shapes of `POST /api/v1/events`)."""
    try:
        return await call()
    except service.DocumentRefused as exc:
        title = "Payload too large" if exc.status == 413 else "Invalid document"
        detail = f"{len(exc.errors)} record(s) refused; nothing was accepted"
        raise Problem(exc.status, title, detail, errors=[e.model_dump() for e in exc.errors]) from exc
    except events.SourcesForbidden as exc:
        detail = "this key may not write every source these events name; nothing was accepted"
        raise Problem(403, "Forbidden", detail, errors=[e.model_dump() for e in exc.errors]) from exc
    except events.BrokerUnavailable as exc:
        raise Problem(
            503,
            "Broker unavailable",
            "the broker did not acknowledge the events; nothing was accepted, send them again",
            headers={"Retry-After": str(events.RETRY_AFTER_SECONDS)},
        ) from exc


async def _submit(
    request: Request, conn: Conn, who: Principal, *, tool: str, opts: Options, body: bytes
) -> ConnectorAccepted:
    _may_write(who, opts.source)
    state = request.app.state
    return await _answer(
        lambda: service.submit(conn, state.publisher, state.decoder, tool=tool, body=body, opts=opts, who=who)
    )


def _snapshot_route(tool: str, what: str) -> None:
    """The route of a tool whose documents are snapshots: `full_scan` applies."""

    async def submit(
        request: Request,
        conn: Conn,
        who: Writer,
        full_scan: FullScan = None,
        at: At = None,
        source: Source = None,
        asset: Asset = None,
    ) -> ConnectorAccepted:
        opts = Options(
            source=source or tool,
            at=_instant(at),
            scope=full_scan,
            asset=asset if tool in ("trivy", "grype") else None,
            admin_names=frozenset(request.app.state.connector_admin_groups),
        )
        return await _submit(request, conn, who, tool=tool, opts=opts, body=await _body(request))

    submit.__doc__ = f"Map {what} to contract events and publish them (202 after the broker's ack)."
    router.post(
        f"/{tool}",
        status_code=202,
        summary=f"Submit {what}",
        openapi_extra=request_body(tool),
        responses={**_ERRORS, **_BROKER},
        operation_id=f"connector_{tool}",
    )(submit)


_snapshot_route("trivy", "a Trivy JSON report")
_snapshot_route("grype", "a Grype JSON report")
_snapshot_route("okta", "Okta users with their factors")
_snapshot_route("entra", "Entra ID authentication-method registration details")


@router.post(
    "/pagerduty",
    status_code=202,
    summary="Receive a PagerDuty v3 webhook (signed)",
    openapi_extra=request_body("pagerduty"),
    responses={
        **_ERRORS,
        401: {
            "description": "no API key, no webhook secret configured, or `X-PagerDuty-Signature` does not "
            "match the body: nothing kept"
        },
        **_BROKER,
    },
)
async def pagerduty(request: Request, conn: Conn, who: Writer, source: Source = None) -> ConnectorAccepted:
    """Incident stages from a webhook whose signature matches TRUSTLINE_PAGERDUTY_WEBHOOK_SECRET."""
    secret: bytes | None = request.app.state.pagerduty_secret
    if secret is None:  # no signature can be verified, so none is valid
        detail = (
            "no PagerDuty webhook secret is configured (TRUSTLINE_PAGERDUTY_WEBHOOK_SECRET); nothing was kept"
        )
        raise Problem(401, "Unauthorized", detail)
    body = await _body(request)
    if not signature_valid(secret, body, request.headers.get("x-pagerduty-signature")):
        raise Problem(401, "Unauthorized", "X-PagerDuty-Signature does not match the body; nothing was kept")
    opts = Options(source=source or "pagerduty")
    return await _submit(request, conn, who, tool="pagerduty", opts=opts, body=body)


@router.post(
    "/kev",
    summary="Store the CISA known-exploited catalog",
    openapi_extra=request_body("kev"),
    responses=_ERRORS,
)
async def kev(request: Request, conn: Conn, who: Writer, at: At = None) -> CatalogStored:
    """The catalog as of `at` (default now): a key that may write `cisa/kev`; nothing before `at` changes."""
    _may_write(who, KEV_SOURCE)
    instant = _instant(at) or datetime.now(UTC).replace(microsecond=0)
    body = await _body(request)
    try:
        return await service.store_kev(conn, body=body, at=instant)
    except service.DocumentRefused as exc:
        detail = f"{len(exc.errors)} record(s) refused; nothing was stored"
        raise Problem(400, "Invalid document", detail, errors=[e.model_dump() for e in exc.errors]) from exc
