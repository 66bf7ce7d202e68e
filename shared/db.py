"""Database connections and the line between transient and permanent faults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from .settings import Settings

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


def is_transient(exc: BaseException) -> bool:
    """True when `exc` (or its cause) is a connection fault that may pass."""
    return isinstance(exc, TRANSIENT_ERRORS) or isinstance(exc.__cause__, TRANSIENT_ERRORS)


async def connect(settings: Settings) -> asyncpg.Connection:
    """One connection to the configured database."""
    return await asyncpg.connect(settings.asyncpg_dsn(), timeout=10, server_settings=SERVER_SETTINGS)


async def create_pool(settings: Settings, *, size: int = 4) -> asyncpg.Pool:
    """A connection pool for the configured database (the caller closes it)."""
    return await asyncpg.create_pool(
        settings.asyncpg_dsn(),
        min_size=0,  # connect on first use: a process starts even while the database is still coming up
        max_size=size,
        timeout=10,
        server_settings=SERVER_SETTINGS,
    )


@asynccontextmanager
async def pool_scope(settings: Settings, *, size: int = 4) -> AsyncIterator[asyncpg.Pool]:
    """A pool closed when the block ends."""
    pool = await create_pool(settings, size=size)
    try:
        yield pool
    finally:
        await pool.close()
