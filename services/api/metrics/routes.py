"""GET /metrics: the latest snapshot plus this process's own metrics."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from pydantic import SecretStr

from ..errors import Problem
from .cache import SnapshotCache

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response, summary="Prometheus exposition of the latest snapshot")
async def metrics(request: Request) -> Response:
    """Serve the pre-rendered snapshot; never queries the database."""
    token: SecretStr | None = request.app.state.metrics_token
    if token is not None:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
            raise Problem(
                401, "Unauthorized", "/metrics needs `Authorization: Bearer <TRUSTLINE_METRICS_TOKEN>`"
            )
    cache: SnapshotCache = request.app.state.snapshots
    snapshot = cache.current.body if cache.current is not None else b""
    return Response(snapshot + generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
