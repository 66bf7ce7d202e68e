"""Liveness and readiness."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..metrics.cache import SnapshotCache

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    """Always ok while the event loop runs."""
    return {"status": "ok"}


@router.get("/readyz", summary="The database answers and the snapshot cache is being refreshed")
async def readyz(request: Request) -> JSONResponse:
    """503 until the database has answered recently."""
    cache: SnapshotCache = request.app.state.snapshots
    body: dict[str, Any] = {"database": "ok" if cache.healthy() else "unreachable", "snapshot_at": None}
    if cache.current is not None:
        body["snapshot_at"] = cache.current.at.isoformat()
        body["snapshot_age_seconds"] = round((datetime.now(UTC) - cache.current.at).total_seconds(), 3)
    return JSONResponse(body, status_code=200 if cache.healthy() else 503)
