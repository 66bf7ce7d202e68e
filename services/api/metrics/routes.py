"""GET /metrics: the latest snapshot plus this process's own metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from .cache import SnapshotCache

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response, summary="Prometheus exposition of the latest snapshot")
async def metrics(request: Request) -> Response:
    """Serve the pre-rendered snapshot; never queries the database."""
    cache: SnapshotCache = request.app.state.snapshots
    snapshot = cache.current.body if cache.current is not None else b""
    return Response(snapshot + generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
