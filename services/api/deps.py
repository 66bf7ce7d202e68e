"""Request dependencies: one database connection per request, and the calling principal's scopes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from .auth.service import Principal, authenticate
from .errors import Problem


async def _connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    async with request.app.state.pool.acquire() as conn:
        yield conn


Conn = Annotated[asyncpg.Connection, Depends(_connection)]


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("x-api-key") or None


def requires(scope: str) -> Callable[[Request, asyncpg.Connection], Awaitable[Principal]]:
    """A dependency that admits only keys holding `scope`."""

    async def principal(request: Request, conn: Conn) -> Principal:
        key = _presented_key(request)
        if key is None:
            raise Problem(
                401, "Unauthorized", "send an API key: `Authorization: Bearer <key>` or `X-API-Key`"
            )
        who = await authenticate(conn, key=key)
        if who is None:
            raise Problem(401, "Unauthorized", "the API key is unknown or revoked")
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
