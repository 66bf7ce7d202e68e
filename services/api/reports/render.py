"""The monthly report as a printable page and as PDF (WeasyPrint), from one template.

The PDF is drawn from the same HTML with the stylesheet passed in and every URL refused, so rendering
never reaches the network or the file system. WeasyPrint needs the system's Pango: it is imported only when
a PDF is asked for, and its absence is a clear error rather than an API that cannot start.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from jinja2 import Environment
from markupsafe import Markup

from . import charts, headline
from .service import MonthlyReport

HERE = Path(__file__).parent / "templates"
REPORT_CSS = (HERE / "report.css").read_text("utf-8")


class PdfUnavailable(RuntimeError):
    """WeasyPrint (or the Pango library it needs) is not installed here."""


def _environment() -> Environment:
    from ..pages.render import environment  # the pages' filters; imported late: pages import reports

    return environment(HERE)


def html(report: MonthlyReport, *, stylesheet_href: str | None) -> str:
    """The report's HTML; `stylesheet_href` links the stylesheet (None: the PDF passes it in)."""
    charts_by_key: dict[str, Markup] = {
        h.measure.key: charts.line_chart(
            report.trend[h.measure.key],
            title=f"{h.measure.title}, daily over 12 months",
            fmt=headline.formatter(h.measure.kind),
            target=h.target,
        )
        for h in report.headlines
    }
    return str(
        _environment()
        .get_template("monthly.html")
        .render(
            r=report,
            charts=charts_by_key,
            shown=headline.shown,
            measures=headline.MEASURES,
            stylesheet_href=stylesheet_href,
            month_label=f"{report.month.start:%B %Y}",
            end_label=_end(report.month.end),
        )
    )


def _end(end: datetime) -> str:
    return f"{end:%Y-%m-%d}"


def pdf(report: MonthlyReport) -> bytes:
    """The report as PDF bytes (CPU-bound: call it in a worker thread from async code)."""
    try:
        from weasyprint import CSS, HTML
        from weasyprint.urls import URLFetcher
    except (ImportError, OSError) as exc:  # OSError: the Pango library is missing
        raise PdfUnavailable(f"PDF rendering needs WeasyPrint and Pango: {exc}") from exc
    refuse_all = URLFetcher(allowed_protocols=())
    document = HTML(string=html(report, stylesheet_href=None), url_fetcher=refuse_all)
    data: bytes = document.write_pdf(stylesheets=[CSS(string=REPORT_CSS, url_fetcher=refuse_all)])
    return data
