"""An HTTP client for the pages that keeps the session cookie itself.

httpx, like Python's cookie jar, never sends a `Secure` cookie over plain http, and the tests' servers
listen on http://127.0.0.1 (a browser accepts Secure cookies there). So this client reads `Set-Cookie` and
sends the session back by hand; the browser tests use a real browser's own cookie handling.
"""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from typing import Any

import httpx

from trustline.api.pages.session import SESSION_COOKIE

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _CSRF.search(html)
    assert found is not None, "no form with a CSRF token on this page"
    return found.group(1)


class PagesClient:
    """httpx with the pages' session cookie carried by hand; every Set-Cookie of it is kept for checks."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30)
        self.session: str | None = None
        self.set_cookies: list[str] = []

    async def __aenter__(self) -> PagesClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if self.session is not None:
            headers["cookie"] = f"{SESSION_COOKIE}={self.session}"
        got = await self.http.request(method, url, headers=headers, **kwargs)
        for raw in got.headers.get_list("set-cookie"):
            cookie = SimpleCookie(raw)
            if SESSION_COOKIE in cookie:
                self.set_cookies.append(raw)
                value = cookie[SESSION_COOKIE].value
                self.session = None if value == "null" else value
        return got

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", url, **kwargs)

    async def form(self, page: str, action: str, data: dict[str, Any]) -> httpx.Response:
        """GET `page`, then POST `data` to `action` with the page's CSRF token, as a browser would."""
        shown = await self.get(page)
        assert shown.status_code == 200, shown.text
        return await self.post(action, data={**data, "csrf_token": csrf_of(shown.text)})

    async def dev_sign_in(self, name: str, *scopes: str) -> None:
        """Sign in with the local development sign-in."""
        got = await self.form("/signin", "/auth/dev", {"name": name, "scope": list(scopes)})
        assert got.status_code == 303 and got.headers["location"] == "/", got.text
