"""/api/v1/kpis: the headline KPIs, exact, as of the latest snapshot or any instant, and their history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from trustline.shared.metrics.samples import Window
from trustline.shared.types import Instant

from ..deps import Conn, Reader
from ..errors import Problem
from . import service
from .schemas import History, Kpis

router = APIRouter(prefix="/api/v1/kpis", tags=["kpis"])
_INSTANT = "RFC 3339 (no offset: UTC) or a date (midnight UTC), 1970 to 2200"


@router.get(
    "",
    summary="Headline KPIs as of the latest snapshot, or as of `at`",
    responses={429: {"description": "another past instant is being computed; retry after `Retry-After`"}},
)
async def read_kpis(
    request: Request,
    conn: Conn,
    who: Reader,
    at: Annotated[Instant | None, Query(description=f"{_INSTANT}; default: the latest snapshot")] = None,
    window: Annotated[Window, Query(description="window of remediations and incident stages")] = "30d",
) -> Kpis:
    """Exact counts, ratios with numerator and denominator, exact time-to-patch percentiles."""
    try:
        return await service.kpis(
            conn=conn,
            at=at,
            window=window,
            policy=request.app.state.policy,
            max_business_units=request.app.state.max_business_units,
            compute_slot=request.app.state.kpi_compute_slot,
        )
    except service.KpiError as exc:
        raise Problem(422, "Unprocessable request", str(exc)) from exc
    except service.Busy as exc:
        raise Problem(429, "Too many requests", str(exc), headers={"Retry-After": "5"}) from exc


@router.get("/history", summary="KPI series from the stored metric history")
async def read_history(
    request: Request,
    conn: Conn,
    who: Reader,
    start: Annotated[
        Instant | None, Query(alias="from", description=f"{_INSTANT}; default: 90 days before `to`")
    ] = None,
    end: Annotated[Instant | None, Query(alias="to", description=f"{_INSTANT}; default: now")] = None,
    step: Annotated[
        str, Query(max_length=16, description="1s to 366d, e.g. 15m, 6h, 1d (at most 1000 points)")
    ] = "1d",
    window: Window = "30d",
) -> History:
    """One point per step: the KPIs of the newest snapshot stored within that step."""
    try:
        span = service.history_span(start=start, end=end, step=step, now=datetime.now(UTC))
    except service.KpiError as exc:
        raise Problem(422, "Unprocessable request", str(exc)) from exc
    return await service.history(conn=conn, span=span, window=window, policy=request.app.state.policy)
