"""The development docs page (Swagger UI) with a Content-Security-Policy that allows only what it loads."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

SWAGGER_JS = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"
SWAGGER_CSS = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def content_security_policy(html: str) -> str:
    """Swagger UI's two files by URL, the page's inline start-up script by hash, API calls to this origin."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in _INLINE_SCRIPT.findall(html)
    )
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {SWAGGER_JS} {hashes}",
            f"style-src {SWAGGER_CSS}",
            "img-src data:",  # Swagger UI's icons are data: URIs
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def install(app: FastAPI, *, path: str = "/docs") -> None:
    """Serve Swagger UI at `path`, rendered once, with its own narrow CSP."""
    page = get_swagger_ui_html(
        openapi_url=app.openapi_url or "/openapi.json",
        title=f"{app.title} API",
        swagger_js_url=SWAGGER_JS,
        swagger_css_url=SWAGGER_CSS,
        swagger_favicon_url="data:,",  # no third-party favicon
    )
    html = bytes(page.body).decode()
    headers = {"Content-Security-Policy": content_security_policy(html)}

    async def docs() -> HTMLResponse:
        return HTMLResponse(html, headers=headers)

    app.add_api_route(path, docs, include_in_schema=False, response_class=HTMLResponse)
