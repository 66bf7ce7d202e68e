"""`trustline report monthly`: the board report as PDF for a scheduled job, rendered from the database by the
API's own report code (the same numbers as `GET /reports/monthly` at the same instant)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from trustline.shared.policy import load_policy
from trustline.shared.settings import get_settings

from .db import with_connection
from .output import literal

report_app = typer.Typer(no_args_is_help=True, help="The board report.")
err = Console(stderr=True, highlight=False, soft_wrap=True)


@report_app.command()
def monthly(
    month: Annotated[str, typer.Option(help="The month, YYYY-MM (the month under way: as of now)")],
    out: Annotated[Path, typer.Option(help="Where to write the PDF")],
) -> None:
    """Write the month's board report as PDF."""
    from trustline.api.kpis import service as kpis_service
    from trustline.api.reports import render, service

    settings = get_settings()
    policy = load_policy(settings.policy_file)
    try:
        chosen = service.Month.parse(month)
        err.print(f"» gathering the report for {chosen.name}")
        report = with_connection(
            lambda conn: service.monthly(
                conn=conn, month=chosen, policy=policy, max_business_units=settings.max_business_units,
                compute_slot=asyncio.Semaphore(1), now=datetime.now(UTC),
            )
        )  # fmt: skip
        err.print(f"» rendering the PDF (as of {report.as_of:%Y-%m-%d %H:%M} UTC)")
        data = render.pdf(report)
    except (service.ReportError, kpis_service.KpiError, render.PdfUnavailable) as exc:
        err.print(f"[red]error:[/] {literal(str(exc))}")
        raise typer.Exit(1) from exc
    out.write_bytes(data)
    err.print(f"wrote {out} ({len(data) // 1024} KiB)")
