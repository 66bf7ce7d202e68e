"""Fixtures shared by every test: a real PostgreSQL and a real Kafka-protocol broker when asked for."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
import uvicorn
from starlette.types import ASGIApp

from trustline.cli.local.devstack import DevStack
from trustline.ingest.topics import ensure_topics
from trustline.ingest.worker import run_worker
from trustline.shared.migrations import upgrade
from trustline.shared.schema import metadata
from trustline.shared.settings import Settings

# Every table of the schema, referencing tables first (TRUNCATE of a table needs those that refer to it).
STATE_TABLES = tuple(t.name for t in reversed(metadata.sorted_tables))


async def truncate_all(dsn: str) -> None:
    """Empty every table the tests write (`dsn`: the schema owner's; the services may not TRUNCATE)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"TRUNCATE {', '.join(STATE_TABLES)}")
    finally:
        await conn.close()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A private stack for the test session, on free ports.

    Always embedded: TRUSTLINE_DATABASE_URL may point at a real database, and tests empty their tables.
    """
    settings = Settings(
        database_url=None,
        kafka_bootstrap=None,
        env="dev",
        state_dir=tmp_path_factory.mktemp("stack"),
        dev_postgres_port=free_port(),
        dev_kafka_port=free_port(),
        topic_partitions=3,
        snapshot_refresh_seconds=0.2,
        ingest_poll_timeout_ms=100,
    )
    dev = DevStack(settings)
    dev.up()
    try:
        upgrade(settings)
        yield settings
    finally:
        dev.destroy()


@pytest.fixture
async def settings(stack: Settings) -> AsyncIterator[Settings]:
    """Per test: empty tables, and fresh topics and consumer group under a unique prefix."""
    tag = uuid.uuid4().hex[:8]
    mine = stack.model_copy(update={"topic_prefix": f"t{tag}", "consumer_group": f"g{tag}"})
    await truncate_all(mine.migration_asyncpg_dsn())
    await ensure_topics(mine)
    yield mine


@pytest.fixture
async def clean(stack: Settings) -> AsyncIterator[Settings]:
    """Per test: empty tables (no topics: for tests that write to the database directly)."""
    await truncate_all(stack.migration_asyncpg_dsn())
    yield stack


@pytest.fixture
async def db(stack: Settings) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the test database as the services' role (combine with `settings` or `clean` for
    empty tables)."""
    conn = await asyncpg.connect(stack.asyncpg_dsn())
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def owner_db(stack: Settings) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the schema owner (what migrations use), for what the services' role may not do."""
    conn = await asyncpg.connect(stack.migration_asyncpg_dsn())
    try:
        yield conn
    finally:
        await conn.close()


async def eventually(probe: object, *, seconds: float = 30.0, every: float = 0.1) -> None:
    """Await `probe()` until it returns truthy; fail with the last value after `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    last: object = None
    while loop.time() < deadline:
        last = await probe()  # type: ignore[operator]
        if last:
            return
        await asyncio.sleep(every)
    raise AssertionError(f"condition not met within {seconds}s (last value: {last!r})")


@asynccontextmanager
async def serve_api(
    settings: Settings, *, app: ASGIApp | None = None, port: int | None = None
) -> AsyncIterator[str]:
    """A real API server (uvicorn on `port` or a free one, served as `trustline api` does) for `settings`,
    or for `app` built from them; yields its base URL."""
    from trustline.api import server as api_server
    from trustline.api.app import create_app

    port = port or free_port()
    app = app or create_app(settings)
    server = uvicorn.Server(
        api_server.config(app, settings, host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: asyncio.sleep(0, server.started))
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


@pytest.fixture
async def worker(settings: Settings) -> AsyncIterator[Settings]:
    """A real ingest worker on the test's topics (fresh tables and topics), stopped after the test."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(settings, stop))
    yield settings
    stop.set()
    await asyncio.wait_for(task, 30)
