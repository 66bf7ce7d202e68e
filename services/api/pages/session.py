"""Who is signed in to the pages, what they may do, and the CSRF token of their forms.

The session lives in a signed cookie (Starlette's SessionMiddleware: HttpOnly, Secure, SameSite=Lax, and
its signature expires with TRUSTLINE_SESSION_MAX_AGE_SECONDS). It holds the person's canonical name and
scopes as mapped at sign-in, never an API key: the pages act as the person, and only through the pages.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request

from trustline.shared.auth import principals

SESSION_COOKIE = "trustline_session"
Via = Literal["oidc", "dev"]


class SignInRequired(Exception):
    """The page needs a signed-in person (answered with a redirect to the sign-in page)."""


class PageError(Exception):
    """A page that cannot be shown as asked; rendered as an error page with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True, slots=True)
class Person:
    """The signed-in person: a canonical principal name, as the audit trail records it, and scopes."""

    name: str
    scopes: frozenset[str]
    via: Via

    def may(self, scope: str) -> bool:
        """True when the person holds `scope`."""
        return scope in self.scopes


def person_of(request: Request) -> Person | None:
    """The person signed in on this request's session, if any."""
    data = request.session.get("person")
    if not isinstance(data, dict):
        return None
    try:
        return Person(str(data["name"]), frozenset(data["scopes"]), data["via"])
    except (KeyError, TypeError):
        return None


def sign_in(request: Request, *, name: str, scopes: frozenset[str], via: Via) -> Person:
    """Start a fresh session for `name` (anything held before, state or token, is dropped)."""
    canonical = principals.canonical(name)
    principals.require_single_script(canonical)
    request.session.clear()
    request.session["person"] = {"name": canonical, "scopes": sorted(scopes), "via": via}
    request.session["csrf"] = secrets.token_urlsafe(32)
    return Person(canonical, scopes, via)


def sign_out(request: Request) -> None:
    """Forget the session."""
    request.session.clear()


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (the sign-in form needs one before anyone signs in)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, sent: object) -> None:
    """Refuse (403) a form whose token is not this session's."""
    token = request.session.get("csrf")
    if not (isinstance(token, str) and isinstance(sent, str) and hmac.compare_digest(token, sent)):
        raise PageError(403, "This form has expired or did not come from these pages: reload and try again.")


async def _viewer(request: Request) -> Person:
    person = person_of(request)
    if person is None:
        raise SignInRequired
    if not person.may("read"):
        raise PageError(403, f"{person.name} is signed in but may not read the register (no `read` scope).")
    return person


# A signed-in person who may read; without a session the page redirects to the sign-in page.
Viewer = Annotated[Person, Depends(_viewer)]


def require(person: Person, scope: str) -> None:
    """Refuse (403) a person without `scope`."""
    if not person.may(scope):
        raise PageError(403, f"{person.name} lacks the `{scope}` scope for this.")
