"""Signing in and out: OpenID Connect at the company's identity provider, or, in development only, a local
sign-in where one picks a name and scopes. Every redirect is a relative path, never built from the Host."""

from __future__ import annotations

import logging

from authlib.integrations.base_client import OAuthError
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from trustline.shared.auth import principals
from trustline.shared.settings import PAGE_SCOPES

from .oidc import PagesConfig, groups_of, scopes_for
from .render import page
from .session import PageError, check_csrf, sign_in, sign_out

router = APIRouter(include_in_schema=False)
log = logging.getLogger("trustline.api.pages")


def _config(request: Request) -> PagesConfig:
    config: PagesConfig = request.app.state.pages
    return config


def home() -> RedirectResponse:
    """303 to the overview (relative: the browser resolves it against the address it used)."""
    return RedirectResponse("/", status_code=303)


@router.get("/signin")
async def signin_page(request: Request) -> Response:
    """The sign-in page: the identity provider, and the local sign-in in development."""
    return page(request, "signin.html", config=_config(request), scopes=PAGE_SCOPES, error=None)


@router.get("/auth/oidc")
async def oidc_start(request: Request) -> Response:
    """Send the browser to the identity provider (state, nonce and the PKCE verifier kept in the session)."""
    config = _config(request)
    if not config.single_sign_on:
        raise PageError(404, "No identity provider is configured (TRUSTLINE_OIDC_ISSUER).")
    try:
        redirect: Response = await config.provider.authorize_redirect(
            request, f"{config.public_url}/auth/callback"
        )
    except Exception as exc:  # discovery failed: the provider is down or misnamed
        log.warning("identity provider unreachable: %s", exc)
        raise PageError(503, "The identity provider cannot be reached right now; try again shortly.") from exc
    return redirect


@router.get("/auth/callback")
async def oidc_callback(request: Request) -> Response:
    """Finish the code flow: check state and the ID token, map groups to scopes, start the session."""
    config = _config(request)
    if not config.single_sign_on:
        raise PageError(404, "No identity provider is configured (TRUSTLINE_OIDC_ISSUER).")
    try:
        token = await config.provider.authorize_access_token(request)
    except OAuthError as exc:
        raise PageError(400, f"Sign-in failed: {exc.description or exc.error}. Start again.") from exc
    claims = token.get("userinfo") or {}
    name = claims.get(config.principal_claim)
    if not isinstance(name, str) or not name.strip():
        raise PageError(
            403, f"The identity provider sent no `{config.principal_claim}` claim to name you by."
        )
    scopes = scopes_for(groups_of(claims, config.groups_claim), config.group_scopes)
    if not scopes:
        raise PageError(403, f"None of {name}'s groups grants access to Trustline; ask for one.")
    try:
        sign_in(request, name=name, scopes=scopes, via="oidc")
    except principals.InvalidName as exc:
        raise PageError(403, f"That name cannot be used: {exc}") from exc
    return home()


@router.post("/auth/dev")
async def dev_signin(request: Request) -> Response:
    """The local development sign-in: a name and scopes, no identity provider (never in prod)."""
    config = _config(request)
    if not config.dev_sign_in:
        raise PageError(404, "The local development sign-in is not available here.")
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    name = form.get("name")
    scopes = frozenset(s for s in form.getlist("scope") if s in PAGE_SCOPES)
    try:
        if not isinstance(name, str):
            raise principals.InvalidName("a name is needed")
        sign_in(request, name=name, scopes=scopes | {"read"}, via="dev")
    except principals.InvalidName as exc:
        return page(request, "signin.html", status=422, config=config, scopes=PAGE_SCOPES, error=str(exc))
    return home()


@router.post("/signout")
async def signout(request: Request) -> Response:
    """Forget the session."""
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    sign_out(request)
    return RedirectResponse("/signin", status_code=303)
