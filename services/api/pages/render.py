"""Rendering the pages: one Jinja environment (autoescaped), formatting filters, and the pages' CSP.

The pages load nothing but their own stylesheet: no script at all, no inline style, no third party. Charts
are inline SVG drawn on the server.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from .session import csrf_token, person_of

HERE = Path(__file__).parent
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def when(value: datetime | None) -> str:
    """An instant as people read it in the pages: UTC, to the minute."""
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def percent(value: float | None) -> str:
    """A ratio as a percentage with one decimal; a dash where there is nothing to measure."""
    return "–" if value is None else f"{value * 100:.1f} %"


def days(seconds: float | None) -> str:
    """A duration in days with one decimal."""
    return "–" if seconds is None else f"{seconds / 86400:.1f} d"


def environment(*folders: Path) -> Environment:
    """A Jinja environment over `folders` with the pages' filters."""
    env = Environment(
        loader=FileSystemLoader([str(f) for f in folders]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, percent=percent, days=days)
    return env


TEMPLATES = environment(HERE / "templates")


def page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A page rendered for the signed-in person (or nobody), with its CSRF token and the pages' CSP."""
    settings = request.app.state.pages
    body = TEMPLATES.get_template(template).render(
        person=person_of(request),
        csrf=csrf_token(request),
        dev_sign_in=settings.dev_sign_in,
        path=request.url.path,
        flashes=request.session.pop("flash", []),
        **context,
    )
    return HTMLResponse(body, status_code=status, headers={"content-security-policy": PAGE_CSP})
