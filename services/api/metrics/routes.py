"""GET /metrics: the latest snapshot plus this process's own metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from pydantic import SecretStr

from trustline.shared.metrics_server import CHALLENGE, HOW, authorized

from ..errors import Problem
from .exposition import GzipPrefix

router = APIRouter(tags=["metrics"])
_EMPTY = GzipPrefix(b"")
_VARY = {"Vary": "Accept-Encoding"}
_GZIP = {"Content-Encoding": "gzip", **_VARY}


@router.get("/metrics", response_class=Response, summary="Prometheus exposition of the latest snapshot")
async def metrics(request: Request) -> Response:
    """Serve the pre-rendered snapshot; never queries the database."""
    token: SecretStr | None = request.app.state.metrics_token
    if not authorized(request.headers.get("authorization"), token):
        raise Problem(401, "Unauthorized", f"/metrics: {HOW}", headers={"WWW-Authenticate": CHALLENGE})
    current = request.app.state.snapshots.current
    own = generate_latest(REGISTRY)
    if "gzip" in request.headers.get("accept-encoding", ""):
        # Prometheus asks for gzip: the snapshot part was compressed once, only our own metrics are new.
        body = (current.gzip if current is not None else _EMPTY).with_tail(own)
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers=_GZIP)
    snapshot = current.body if current is not None else b""
    return Response(snapshot + own, media_type=CONTENT_TYPE_LATEST, headers=_VARY)
