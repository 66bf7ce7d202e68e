"""Signing in to the pages: OpenID Connect against a real provider (code flow with PKCE, groups mapped to
scopes), the local development sign-in, the session cookie's flags, CSRF on forms and the pages' headers."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest

from tests.conftest import serve_api
from trustline.api.pages.render import PAGE_CSP
from trustline.shared.settings import Settings

from .client import PagesClient, csrf_of
from .conftest import Pages

pytestmark = pytest.mark.integration


async def oidc_sign_in(client: PagesClient, sub: str) -> httpx.Response:
    """The code flow as a browser runs it: to the provider, pick the person there, back to the callback."""
    start = await client.get("/auth/oidc")
    assert start.status_code == 302, start.text
    authorize = start.headers["location"]
    async with httpx.AsyncClient() as idp:
        consent = await idp.post(authorize, data={"sub": sub})
    assert consent.status_code == 302, consent.text
    back = urlsplit(consent.headers["location"])
    return await client.get(f"{back.path}?{back.query}")


async def test_oidc_code_flow_with_pkce_maps_groups_to_scopes(pages: Pages) -> None:
    async with PagesClient(pages.url) as client:
        # A Host header of the caller's choosing steers nothing: the callback is the configured address.
        start = await client.get("/auth/oidc", headers={"Host": "evil.example"})
        query = parse_qs(urlsplit(start.headers["location"]).query)
        # PKCE with S256, a state and a nonce, and the callback on the configured public address.
        assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
        assert query["state"] and query["nonce"]
        assert query["redirect_uri"] == [f"{pages.url}/auth/callback"]
        done = await oidc_sign_in(client, "u-rita")
        assert (done.status_code, done.headers["location"]) == (303, "/")
        # rita is in risk-owners only: read and risk:propose, not risk:approve.
        assert "rita@example.com" in (await client.get("/risk")).text
        assert (await client.get("/risk/new")).status_code == 200
        waiting = await client.get("/risk?view=waiting")
        assert waiting.status_code == 403 and "risk:approve" in waiting.text


async def test_a_person_whose_groups_grant_nothing_is_not_signed_in(pages: Pages) -> None:
    async with PagesClient(pages.url) as client:
        refused = await oidc_sign_in(client, "u-nobody")
        assert refused.status_code == 403 and "grants access" in refused.text
        assert (await client.get("/")).headers["location"] == "/signin"


async def test_a_callback_without_its_state_is_refused(pages: Pages) -> None:
    async with PagesClient(pages.url) as client:
        await client.get("/auth/oidc")  # a flow under way, then a code for another state
        forged = await client.get("/auth/callback?code=abc&state=not-the-one")
        assert forged.status_code == 400 and "Sign-in failed" in forged.text
        assert (await client.get("/")).status_code == 303


async def test_the_session_cookie_is_signed_httponly_secure_and_samesite(pages: Pages) -> None:
    async with PagesClient(pages.url) as client:
        await client.dev_sign_in("dana", "risk:propose")
        flags = [part.strip().lower() for part in client.set_cookies[-1].split(";")]
        assert {"httponly", "secure", "samesite=lax", "path=/"} <= set(flags)
        assert f"max-age={pages.settings.session_max_age_seconds}" in flags
        # A cookie changed by hand (its signature no longer matches) is no session at all.
        assert client.session is not None
        client.session = client.session[:-4] + ("AAAA" if not client.session.endswith("AAAA") else "BBBB")
        assert (await client.get("/")).headers["location"] == "/signin"


async def test_pages_carry_a_strict_csp_and_the_security_headers(pages: Pages) -> None:
    async with PagesClient(pages.url) as client:
        await client.dev_sign_in("dana")
        for path in ("/", "/risk", "/gaps", "/signin"):
            got = await client.get(path)
            assert got.status_code == 200, (path, got.text)
            assert got.headers["content-security-policy"] == PAGE_CSP
            assert "script-src" not in PAGE_CSP and "'unsafe-inline'" not in PAGE_CSP
            assert got.headers["x-frame-options"] == "DENY"
            assert got.headers["x-content-type-options"] == "nosniff"
            assert got.headers["referrer-policy"] == "no-referrer"


async def test_every_form_needs_its_sessions_csrf_token(pages: Pages, db: asyncpg.Connection) -> None:
    proposal = {"title": "t", "justification": "j", "vulnerability_id": "CVE-1", "severity": "low",
                "business_owner": "o", "expires_at": "2199-01-01"}  # fmt: skip
    async with PagesClient(pages.url) as mallory, PagesClient(pages.url) as dana:
        await mallory.dev_sign_in("mallory", "risk:propose")
        await dana.dev_sign_in("dana", "risk:propose")
        foreign = csrf_of((await mallory.get("/risk/new")).text)
        for token in (None, "", foreign):
            data = proposal if token is None else {**proposal, "csrf_token": token}
            refused = await dana.post("/risk/new", data=data)
            assert refused.status_code == 403 and "form has expired" in refused.text
        signout = await dana.post("/signout", data={})
        assert signout.status_code == 403  # signing out is a form too
    assert await db.fetchval("SELECT count(*) FROM risk_acceptances") == 0


async def test_without_a_session_pages_lead_to_the_sign_in(pages: Pages) -> None:
    async with PagesClient(pages.url) as client:
        for path in ("/", "/risk", "/risk/new", "/gaps/edr-uncovered", "/gaps/incidents-open.csv"):
            got = await client.get(path, headers={"Host": "evil.example"})  # redirects are relative paths
            assert (got.status_code, got.headers["location"]) == (303, "/signin"), path
        signin = await client.get("/signin")
        assert "Sign in with your company account" in signin.text
        assert "Local development sign-in" in signin.text and "prod" in signin.text


async def test_the_local_sign_in_can_be_switched_off(clean: Settings) -> None:
    settings = clean.model_copy(update={"dev_sign_in": False})
    async with serve_api(settings) as url, PagesClient(url) as client:
        signin = await client.get("/signin")
        assert "Local development sign-in" not in signin.text
        refused = await client.post("/auth/dev", data={"name": "x", "csrf_token": csrf_of_any(signin.text)})
        assert refused.status_code == 404


def csrf_of_any(html: str) -> str:
    """The sign-out form is absent before sign-in: use the session's token if the page shows one."""
    try:
        return csrf_of(html)
    except AssertionError:
        return "none"


async def test_sign_out_forgets_the_session(pages: Pages) -> None:
    async with PagesClient(pages.url) as client:
        await client.dev_sign_in("dana")
        out = await client.form("/", "/signout", {})
        assert (out.status_code, out.headers["location"]) == (303, "/signin")
        assert (await client.get("/risk")).status_code == 303
