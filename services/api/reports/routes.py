"""GET /reports/monthly?month=YYYY-MM: the board report as a printable page, or as PDF with `format=pdf`.

Signed-in people reach it from the pages; a scheduled job can use a key with the `read` scope (or run
`trustline report monthly`, which renders the same report from the database).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from ..deps import Conn, requires
from ..kpis import service as kpis_service
from ..pages.render import page
from ..pages.session import PageError, person_of
from . import render, service
from .render import REPORT_CSS

router = APIRouter(include_in_schema=False)
REPORT_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)


async def _allowed(request: Request, conn: Conn) -> None:
    """A signed-in person with `read`, or else an API key with `read` (401/403 as the API answers)."""
    person = person_of(request)
    if person is not None and person.may("read"):
        return
    if person is None and not request.headers.get("authorization") and not request.headers.get("x-api-key"):
        raise PageError(401, "Sign in (or send an API key with the `read` scope) to read the board report.")
    if person is not None:
        raise PageError(403, f"{person.name} may not read the report (no `read` scope).")
    await requires("read")(request, conn)


@router.get("/reports")
async def reports_index(request: Request, conn: Conn) -> Response:
    """Pick a month."""
    await _allowed(request, conn)
    now = datetime.now(UTC)
    months = []
    year, month = now.year, now.month
    for _ in range(13):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return page(request, "reports.html", months=months)


@router.get("/reports/report.css")
async def stylesheet() -> Response:
    """The report's stylesheet (the pages' CSP allows only their own origin's)."""
    return Response(REPORT_CSS, media_type="text/css")


@router.get("/reports/monthly")
async def monthly(
    request: Request,
    conn: Conn,
    month: Annotated[str, Query(max_length=7, description="YYYY-MM")],
    format: Literal["html", "pdf"] = "html",
) -> Response:
    """The month's report as of its instant T (shown in the report)."""
    await _allowed(request, conn)
    state = request.app.state
    try:
        report = await service.monthly(
            conn=conn, month=service.Month.parse(month), policy=state.policy,
            max_business_units=state.max_business_units, compute_slot=state.kpi_compute_slot,
            now=datetime.now(UTC),
        )  # fmt: skip
    except (service.ReportError, kpis_service.KpiError) as exc:
        raise PageError(422, str(exc)) from exc
    except kpis_service.Busy as exc:
        raise PageError(503, "Another instant is being computed; try again in a few seconds.") from exc
    if format == "pdf":
        try:
            data = await asyncio.to_thread(render.pdf, report)
        except render.PdfUnavailable as exc:
            raise PageError(503, str(exc)) from exc
        name = f"trustline-report-{month}.pdf"
        return Response(data, media_type="application/pdf",
                        headers={"content-disposition": f'attachment; filename="{name}"'})  # fmt: skip
    body = render.html(report, stylesheet_href="/reports/report.css")
    return HTMLResponse(body, headers={"content-security-policy": REPORT_CSP})
