"""POST /api/v1/events: HTTP ingest for tools that do not speak Kafka, validated like the Kafka path."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from trustline.shared.auth.keys import Principal

from ..deps import requires
from ..errors import Problem
from . import service
from .schemas import REQUEST_BODY, Accepted

router = APIRouter(prefix="/api/v1/events", tags=["events"])
Writer = Annotated[Principal, Depends(requires("events:write"))]
JSON_TYPES = frozenset(
    {"application/json", "application/cloudevents+json", "application/cloudevents-batch+json"}
)


@router.post(
    "",
    status_code=202,
    summary="Submit one event or a batch (CloudEvents or OCSF)",
    openapi_extra=REQUEST_BODY,
    responses={
        400: {"description": "some items are invalid: a reason per item, nothing published"},
        403: {"description": "the key lacks `events:write`, or may not write a source the items name"},
        413: {"description": "the body, an item or the batch is too large"},
        415: {"description": "not JSON"},
        503: {"description": "the broker is unreachable; retry after `Retry-After` seconds"},
    },
)
async def submit(request: Request, who: Writer) -> Accepted:
    """Accepted (202) only once the broker acknowledged every item; the ingest workers store them."""
    binary = [(f"ce_{k[3:]}", v.encode()) for k, v in request.headers.items() if k.startswith("ce-")]
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not binary and media not in JSON_TYPES:
        raise Problem(415, "Unsupported media type", f"send JSON ({', '.join(sorted(JSON_TYPES))})")
    items = service.items_of(await request.body(), binary)
    try:
        return await service.ingest(
            request.app.state.publisher,
            request.app.state.decoder,
            items=items,
            max_items=request.app.state.max_batch_events,
            who=who,
        )
    except service.BatchRefused as exc:
        title = "Payload too large" if exc.status == 413 else "Invalid events"
        detail = f"{len(exc.errors)} of {len(items)} item(s) refused; nothing was accepted"
        if not items:
            detail = "the batch is empty; nothing was accepted"
        raise Problem(exc.status, title, detail, errors=[e.model_dump() for e in exc.errors]) from exc
    except service.SourcesForbidden as exc:
        detail = "this key may not write every source these events name; nothing was accepted"
        raise Problem(403, "Forbidden", detail, errors=[e.model_dump() for e in exc.errors]) from exc
    except service.BrokerUnavailable as exc:
        raise Problem(
            503,
            "Broker unavailable",
            "the broker did not acknowledge the events; nothing was accepted, send them again",
            headers={"Retry-After": str(service.RETRY_AFTER_SECONDS)},
        ) from exc
