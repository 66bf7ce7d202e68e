"""The monthly board report: what it says, gathered through the API's own services (KPIs, their history,
the past-SLA drill-down, the registry), so every number equals the API's at the report's instant.

The instant T: for a finished month, the newest snapshot stored in its last day (else the month's end,
computed); for the month under way, the snapshot `/metrics` serves. `GET /api/v1/kpis?at=T` answers the
same headline numbers.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from trustline.shared.policy import Policy
from trustline.shared.risk import service as registry
from trustline.shared.risk.models import Acceptance

from ..gaps import service as gaps_service
from ..gaps.schemas import Page, VulnerabilityPastSla
from ..kpis import service as kpis_service
from ..kpis.schemas import Kpis
from . import headline, trends

_MONTH = re.compile(r"^(19[7-9][0-9]|2[01][0-9][0-9])-(0[1-9]|1[0-2])$")
TICK = timedelta(microseconds=1)
BREACHES_LISTED = 25


class ReportError(ValueError):
    """A month the report cannot be made for (answered as 422)."""


@dataclass(frozen=True)
class Month:
    """A calendar month in UTC: [start, end)."""

    name: str
    start: datetime
    end: datetime

    @classmethod
    def parse(cls, text: str) -> Month:
        """`YYYY-MM`, 1970-01 to 2199-11 (the month after must be representable too)."""
        m = _MONTH.match(text)
        if m is None or text >= "2199-12":
            raise ReportError("month must be YYYY-MM between 1970-01 and 2199-11, e.g. 2026-10")
        start = datetime(int(m.group(1)), int(m.group(2)), 1, tzinfo=UTC)
        return cls(text, start, _next_month(start))


def _next_month(start: datetime) -> datetime:
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


@dataclass(frozen=True)
class MonthlyReport:
    """Everything the report shows."""

    month: Month
    kpis: Kpis
    headlines: list[headline.Headline]
    trend: dict[str, list[tuple[datetime, float | None]]]
    month_ends: list[tuple[datetime, dict[str, float | None]]]
    breaches: Page[VulnerabilityPastSla]
    expiring: list[Acceptance]
    new: list[Acceptance]
    expired: list[Acceptance]
    generated_at: datetime

    @property
    def as_of(self) -> datetime:
        """T: the instant every number describes."""
        return self.kpis.as_of


async def monthly(
    *,
    conn: asyncpg.Connection,
    month: Month,
    policy: Policy,
    max_business_units: int,
    compute_slot: asyncio.Semaphore,
    now: datetime,
) -> MonthlyReport:
    """Gather the month's report (KpiError or Busy from the KPI service pass through)."""
    if month.start > now:
        raise ReportError(f"{month.name} has not begun: only events up to now are known")
    history = await trends.year_to(conn=conn, end=month.end, policy=policy)  # month ends fall on its days
    at = None if month.end > now else (history.points[-1].snapshot_at or month.end)
    kpis = await kpis_service.kpis(
        conn=conn, at=at, window="30d", policy=policy, max_business_units=max_business_units,
        compute_slot=compute_slot,
    )  # fmt: skip
    t = kpis.as_of
    series = trends.series(history)
    breaches = await gaps_service.vulnerabilities_past_sla(
        conn=conn, page=gaps_service.Slice(t, BREACHES_LISTED, 0), policy=policy, business_unit=None,
        severity=None,
    )  # fmt: skip
    expiring = await registry.list_acceptances(
        conn, status="approved", expires=(t, _next_month(month.end)), limit=500
    )
    new = await registry.list_acceptances(conn, created=(month.start - TICK, month.end - TICK), limit=500)
    expired = await registry.list_acceptances(
        conn, status="expired", expires=(month.start - TICK, month.end - TICK), limit=500
    )
    return MonthlyReport(
        month=month,
        kpis=kpis,
        headlines=headline.headlines(kpis, policy.targets),
        trend=series,
        month_ends=_month_ends(series, month),
        breaches=breaches,
        expiring=expiring,
        new=new,
        expired=expired,
        generated_at=now,
    )


def _month_ends(
    series: dict[str, list[tuple[datetime, float | None]]], month: Month
) -> list[tuple[datetime, dict[str, float | None]]]:
    """Each headline KPI at the ends of the twelve months up to this one (from the daily trend)."""
    out = []
    by_day = {key: dict(points) for key, points in series.items()}
    end = month.end
    for _ in range(12):
        out.append((end, {key: values.get(end) for key, values in by_day.items()}))
        end = end.replace(year=end.year - (end.month == 1), month=(end.month - 2) % 12 + 1)
    return list(reversed(out))
