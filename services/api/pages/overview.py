"""The overview: the headline KPIs now, against their targets, each with its 12-month trend, its gap list
and (when TRUSTLINE_GRAFANA_URL is set) its Grafana board."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..deps import Conn
from ..kpis import service as kpis_service
from ..reports import charts, headline, trends
from .render import page
from .session import PageError, Viewer

router = APIRouter(include_in_schema=False)


@router.get("/")
async def overview(request: Request, conn: Conn, who: Viewer) -> Response:
    """Headline KPIs as of the snapshot /metrics serves, with a year of daily history."""
    state = request.app.state
    policy = state.policy
    try:
        now = await kpis_service.kpis(
            conn=conn,
            at=None,
            window="30d",
            policy=policy,
            max_business_units=state.max_business_units,
            compute_slot=state.kpi_compute_slot,
        )
    except kpis_service.Busy as exc:
        raise PageError(503, "The KPIs are being computed; reload in a few seconds.") from exc
    history = await trends.year_to(conn=conn, end=datetime.now(UTC), policy=policy)
    lines = trends.series(history)
    cards = [
        {
            "h": h,
            "value": headline.shown(h),
            "chart": charts.line_chart(
                lines[h.measure.key],
                title=f"{h.measure.title}, daily over 12 months",
                fmt=headline.formatter(h.measure.kind),
                target=h.target,
            ),
        }
        for h in headline.headlines(now, policy.targets)
    ]
    grafana = state.pages.grafana_url
    return page(request, "overview.html", kpis=now, cards=cards, grafana=grafana)
