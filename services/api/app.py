"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from trustline import __version__
from trustline.shared.db import create_pool
from trustline.shared.events import Decoder
from trustline.shared.policy import load_policy
from trustline.shared.settings import Settings, get_settings

from . import docs, errors, pages
from .connectors.routes import router as connectors_router
from .events.routes import router as events_router
from .events.service import Publisher
from .gaps.routes import router as gaps_router
from .health.routes import router as health_router
from .kpis.routes import router as kpis_router
from .limits import BodyLimit
from .metrics.cache import SnapshotCache
from .metrics.routes import router as metrics_router
from .middleware import AllowedHosts, RequestContext, SecurityHeaders
from .reports.routes import router as reports_router
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
            await app.state.publisher.close()
            await app.state.pool.close()

    app = FastAPI(
        title="Trustline",
        version=__version__,
        summary="Security events in, business-aligned risk metrics out.",
        lifespan=lifespan,
        docs_url=None,  # installed below with its own Content-Security-Policy
        redoc_url=None,
        # A slash redirect would be built from the request's Host header: `/docs/` is a plain 404.
        redirect_slashes=False,
    )
    if settings.env == "dev" if settings.api_docs is None else settings.api_docs:
        docs.install(app)
    app.state.snapshots = cache
    app.state.policy = load_policy(settings.policy_file)
    app.state.metrics_token = settings.metrics_token
    app.state.read_auth = settings.api_read_auth
    app.state.max_business_units = settings.max_business_units
    app.state.kpi_compute_slot = asyncio.Semaphore(1)
    app.state.decoder = Decoder(topic_prefix=settings.topic_prefix, max_bytes=settings.max_event_bytes)
    app.state.publisher = Publisher(settings)
    app.state.max_batch_events = settings.api_max_batch_events
    pages.install(app, settings)  # the session cookie sits inside the hygiene middleware below
    secret = settings.pagerduty_webhook_secret
    app.state.pagerduty_secret = secret.get_secret_value().encode() if secret is not None else None
    app.state.connector_admin_groups = settings.connector_admin_groups
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    if settings.api_allowed_hosts:
        app.add_middleware(AllowedHosts, hosts=settings.api_allowed_hosts)
    app.add_middleware(RequestContext)  # outside the host check: refusals are logged with their id
    app.add_middleware(SecurityHeaders)  # outermost: every answer, even a 500, carries the headers
    errors.install(app)
    app.include_router(metrics_router)
    app.include_router(health_router)
    app.include_router(risk_router)
    app.include_router(kpis_router)
    app.include_router(events_router)
    app.include_router(connectors_router)
    app.include_router(gaps_router)
    app.include_router(reports_router)
    return app
