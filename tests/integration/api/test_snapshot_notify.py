"""The API serves a new snapshot as soon as it is stored: the aggregator's NOTIFY wakes the cache, which
otherwise polls once per `snapshot_refresh_seconds`."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tests.conftest import eventually
from tests.scenario import H, T
from trustline.api.metrics.cache import SnapshotCache
from trustline.shared.metrics.samples import Sample
from trustline.shared.metrics.store import write_snapshot
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration


async def test_a_stored_snapshot_wakes_the_cache_before_its_next_poll(
    clean: Settings, db: asyncpg.Connection
) -> None:
    await write_snapshot(db, at=T, samples=[Sample("trustline_incidents_open", {"severity": "high"}, 1.0)],
                         seconds=0.0, writer="test")  # fmt: skip
    # An hour between polls: within this test only the notification can bring the second snapshot.
    cache = SnapshotCache(clean, interval=3600.0)
    stop = asyncio.Event()
    task = asyncio.create_task(cache.run(stop))
    try:
        await eventually(lambda: asyncio.sleep(0, cache.current is not None and cache.current.at == T))
        await write_snapshot(db, at=T + H, samples=[Sample("trustline_incidents_open", {"severity": "high"}, 2.0)],
                             seconds=0.0, writer="test")  # fmt: skip
        await eventually(lambda: asyncio.sleep(0, cache.current is not None and cache.current.at == T + H))
        assert (
            cache.current is not None
            and b'trustline_incidents_open{severity="high"} 2.0' in cache.current.body
        )
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
