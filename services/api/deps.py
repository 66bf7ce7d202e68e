"""Request dependencies: one database connection per request, and the calling principal's scopes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from trustline.shared.auth.keys import KeyRefused, Principal, check_key

from .errors import Problem


async def _connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    async with request.app.state.pool.acquire() as conn:
        yield conn


Conn = Annotated[asyncpg.Connection, Depends(_connection)]
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="trustline"'}


def _presented_key(request: Request) -> str | None:
    """The one key the request presents; an empty or non-Bearer Authorization never hides X-API-Key."""
    bearer = [
        value[7:].strip()
        for value in request.headers.getlist("authorization")
        if value[:7].lower() == "bearer "
    ]
    presented = {k for k in [*bearer, *(v.strip() for v in request.headers.getlist("x-api-key"))] if k}
    if len(presented) > 1:
        raise Problem(
            400,
            "Bad request",
            "the request presents more than one API key (Authorization and X-API-Key differ): send one",
        )
    return presented.pop() if presented else None


def requires(scope: str) -> Callable[[Request, asyncpg.Connection], Awaitable[Principal]]:
    """A dependency that admits only keys holding `scope`."""

    async def principal(request: Request, conn: Conn) -> Principal:
        key = _presented_key(request)
        if key is None:
            raise Problem(
                401,
                "Unauthorized",
                "send an API key: `Authorization: Bearer <key>` or `X-API-Key`",
                headers=_CHALLENGE,
            )
        try:
            who = await check_key(conn, key=key)
        except KeyRefused as exc:
            raise Problem(401, "Unauthorized", str(exc), headers=_CHALLENGE) from exc
        request.state.principal = who.name
        if scope not in who.scopes:
            raise Problem(403, "Forbidden", f"this key ({who.name}) lacks the `{scope}` scope")
        return who

    return principal


async def _reader(request: Request, conn: Conn) -> Principal | None:
    if not request.app.state.read_auth:
        return None
    return await requires("read")(request, conn)


# Reads need the `read` scope unless TRUSTLINE_API_READ_AUTH=false (then the principal is None).
Reader = Annotated[Principal | None, Depends(_reader)]
