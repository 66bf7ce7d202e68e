"""Twelve months of headline KPIs from the stored metric history, read only through the KPI history service
(`GET /api/v1/kpis/history` answers the same points)."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from trustline.shared.policy import Policy

from ..kpis import service as kpis_service
from ..kpis.schemas import History
from .headline import MEASURES

YEAR = timedelta(days=364)


async def year_to(*, conn: asyncpg.Connection, end: datetime, policy: Policy) -> History:
    """One point a day over the 365 days ending at `end` (a day without a stored snapshot has none)."""
    span = kpis_service.history_span(start=end - YEAR, end=end, step="1d", now=end)
    return await kpis_service.history(conn=conn, span=span, window="30d", policy=policy)


def series(history: History) -> dict[str, list[tuple[datetime, float | None]]]:
    """Each headline KPI's daily values, by the measure's key."""
    return {
        m.key: [(p.at, m.read(p.kpis) if p.kpis is not None else None) for p in history.points]
        for m in MEASURES
    }
