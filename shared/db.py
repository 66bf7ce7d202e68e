"""Database connections and the line between transient and permanent faults.

Every connection (the services' pool, a CLI command's, the schema owner's for migrations and grants) is
opened by `open_connection` from a libpq-form URL, so TLS (`sslmode=verify-full`, `sslrootcert`) works
the same everywhere; a fault only settings can cure comes out as one `faults.SetupError` line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from . import faults
from .settings import Settings, redact

# Faults of the connection, not of the statement: worth retrying, never worth dead-lettering.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.PostgresConnectionError,
    # Concurrency conflicts: the same statement succeeds when run again.
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
)
# Every session computes in UTC, so interval arithmetic never depends on the server's time zone.
SERVER_SETTINGS = {"application_name": "trustline", "TimeZone": "UTC"}


_HINT = faults.Hint(
    ca="TRUSTLINE_DATABASE_SSLROOTCERT or the URL's sslrootcert",
    cert="TRUSTLINE_DATABASE_SSLCERT and TRUSTLINE_DATABASE_SSLKEY",
    password="the database URL's user and password, or TRUSTLINE_DATABASE_USER/_PASSWORD",
)


def is_transient(exc: BaseException) -> bool:
    """True when `exc` (or its cause) is a connection fault that may pass (a refused certificate never)."""
    if faults.permanent(exc):
        return False
    return isinstance(exc, TRANSIENT_ERRORS) or isinstance(exc.__cause__, TRANSIENT_ERRORS)


def _where(dsn: str) -> str:
    try:
        url = make_url(dsn)
    except Exception:
        return "the configured server"
    return f"{url.host or 'localhost'}:{url.port or 5432}"


async def open_connection(dsn: str, **options: Any) -> asyncpg.Connection:
    """A connection for a libpq-form URL; a fault only settings cure raises faults.SetupError (one line)."""
    try:
        return await asyncpg.connect(dsn, timeout=10, **options)
    except Exception as exc:
        if (line := faults.explain(exc, what="PostgreSQL", where=_where(dsn), hint=_HINT)) is not None:
            raise faults.SetupError(redact(line)) from None
        raise


async def connect(settings: Settings) -> asyncpg.Connection:
    """One connection to the configured database, as the services' role."""
    return await open_connection(settings.asyncpg_dsn(), server_settings=SERVER_SETTINGS)


async def connect_owner(settings: Settings) -> asyncpg.Connection:
    """One connection as the schema owner (migrations and grants)."""
    return await open_connection(settings.migration_asyncpg_dsn(), server_settings=SERVER_SETTINGS)


async def create_pool(settings: Settings, *, size: int = 4) -> asyncpg.Pool:
    """A connection pool for the configured database (the caller closes it)."""
    dsn = settings.asyncpg_dsn()

    async def connect_one(*_: object, **options: Any) -> asyncpg.Connection:
        options.pop("dsn", None)
        options.pop("timeout", None)
        return await open_connection(dsn, **options)

    return await asyncpg.create_pool(
        min_size=0,  # connect on first use: a process starts even while the database is still coming up
        max_size=size,
        server_settings=SERVER_SETTINGS,
        connect=connect_one,
    )


async def probe(settings: Settings) -> None:
    """Connect once as the services do: a fault only settings cure raises faults.SetupError; an unreachable
    server is left to the components' own retries."""
    try:
        conn = await connect(settings)
    except faults.SetupError:
        raise
    except Exception:
        return
    await conn.close()


@asynccontextmanager
async def pool_scope(settings: Settings, *, size: int = 4) -> AsyncIterator[asyncpg.Pool]:
    """A pool closed when the block ends."""
    pool = await create_pool(settings, size=size)
    try:
        yield pool
    finally:
        await pool.close()
