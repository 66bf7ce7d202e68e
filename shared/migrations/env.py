"""Alembic environment: runs migrations over the async engine, one run at a time.

The engine's connections come from `trustline.shared.db` (libpq-form URLs: `sslmode`, `sslrootcert` work;
SQLAlchemy's own asyncpg dialect refuses them in a URL). A transaction-scoped advisory lock serialises
concurrent runs (two Helm hook Jobs, an operator and a hook): the second waits, then finds the schema at
head.
"""

import asyncio
from functools import partial

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from trustline.shared.db import connect_owner
from trustline.shared.migrations import MIGRATION_LOCK_ID
from trustline.shared.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        connection.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": MIGRATION_LOCK_ID})
        context.run_migrations()


async def _main() -> None:
    settings = config.attributes["settings"]
    engine = create_async_engine("postgresql+asyncpg://", async_creator=partial(connect_owner, settings))
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run)
            await conn.commit()
    finally:
        await engine.dispose()


asyncio.run(_main())
