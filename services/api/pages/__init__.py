"""The pages people use from `/`: the overview, the risk register, the gap lists and the board report.

Server-rendered (Jinja2, plain forms, no script), signed in with OpenID Connect (or, in development, a local
sign-in), acting through the same service functions as the API: no business rule lives here.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.middleware.sessions import SessionMiddleware

from trustline.shared.settings import Settings

from . import oidc
from .render import HERE, page
from .session import SESSION_COOKIE, PageError, SignInRequired


def install(app: FastAPI, settings: Settings) -> None:
    """Serve the pages: session cookies, their routes, their stylesheet and their error pages."""
    from . import auth, gaps, overview, register

    app.state.pages = oidc.config(settings)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_key(),
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_age_seconds,
        same_site="lax",  # the identity provider's redirect back is a cross-site top-level GET
        https_only=True,  # Secure; browsers accept it on http://localhost for development
    )
    stylesheet = (HERE / "static" / "pages.css").read_text("utf-8")

    @app.get("/static/pages.css", include_in_schema=False)
    async def _stylesheet() -> Response:
        return Response(stylesheet, media_type="text/css")

    for module in (auth, overview, register, gaps):
        app.include_router(module.router)

    @app.exception_handler(SignInRequired)
    async def _signin(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse("/signin", status_code=303)

    @app.exception_handler(PageError)
    async def _error(request: Request, exc: PageError) -> Response:
        title = {400: "Bad request", 403: "Not allowed", 404: "Not found", 409: "Conflict"}.get(
            exc.status, "Cannot show this page"
        )
        return page(request, "error.html", status=exc.status, title=title, message=exc.message)
