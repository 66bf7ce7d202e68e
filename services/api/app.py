"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from trustline import __version__
from trustline.shared.db import create_pool
from trustline.shared.policy import load_policy
from trustline.shared.settings import Settings, get_settings

from . import errors
from .gaps.routes import router as gaps_router
from .health.routes import router as health_router
from .limits import BodyLimit
from .metrics.cache import SnapshotCache
from .metrics.routes import router as metrics_router
from .risk_acceptances.routes import router as risk_router


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the snapshot refresher starts with it and stops with it."""
    settings = settings or get_settings()
    cache = SnapshotCache(settings, interval=settings.snapshot_refresh_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(cache.run(stop), name="snapshot-refresh")
        app.state.pool = await create_pool(settings, size=8)
        try:
            yield
        finally:
            stop.set()
            await task
            await app.state.pool.close()

    app = FastAPI(
        title="Trustline",
        version=__version__,
        summary="Security events in, business-aligned risk metrics out.",
        lifespan=lifespan,
        docs_url="/docs"
        if (settings.env == "dev" if settings.api_docs is None else settings.api_docs)
        else None,
        redoc_url=None,
    )
    app.state.snapshots = cache
    app.state.policy = load_policy(settings.policy_file)
    app.state.metrics_token = settings.metrics_token
    app.state.read_auth = settings.api_read_auth
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    errors.install(app)
    app.include_router(metrics_router)
    app.include_router(health_router)
    app.include_router(risk_router)
    app.include_router(gaps_router)
    return app
