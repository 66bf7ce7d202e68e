"""The API's snapshot cache keeps the last snapshot while the database is away, and retries every interval."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from tests.conftest import free_port
from tests.helpers import stop_at_first_warning
from trustline.api.metrics.cache import CachedSnapshot, SnapshotCache
from trustline.api.metrics.exposition import GzipPrefix
from trustline.shared.settings import Settings


async def test_a_refresh_that_cannot_reach_the_database_keeps_the_last_snapshot() -> None:
    settings = Settings(database_url=f"postgresql://trustline@127.0.0.1:{free_port()}/trustline")
    cache = SnapshotCache(settings, interval=3.0)
    held = CachedSnapshot(datetime(2026, 1, 1, tzinfo=UTC), b"x 1\n", GzipPrefix(b"x 1\n"))
    cache.current = held
    with stop_at_first_warning("trustline.api.metrics.cache") as (stop, warnings):
        await asyncio.wait_for(cache.run(stop), 30)
    assert cache.current is held and not cache.healthy()
    assert len(warnings) == 1
    assert warnings[0].startswith("snapshot refresh failed, keeping the last snapshot (")
    assert warnings[0].endswith("); retrying in 3.0s")
