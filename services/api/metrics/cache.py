"""The latest snapshot, held in memory and refreshed in the background: scrapes never touch the database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import asyncpg

from trustline.shared.aio import wait_or_stop
from trustline.shared.db import connect, is_transient
from trustline.shared.metrics import store
from trustline.shared.metrics.samples import Sample
from trustline.shared.retry import Backoff, Stopped, retry
from trustline.shared.settings import Settings

from .exposition import GzipPrefix, render

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CachedSnapshot:
    """A rendered snapshot and the instant it describes."""

    at: datetime
    body: bytes
    gzip: GzipPrefix


def _passing(exc: BaseException) -> bool:
    # A statement's error too (say, a table not migrated yet): the API keeps its snapshot and polls on.
    return is_transient(exc) or isinstance(exc, asyncpg.PostgresError)


def _prepare(at: datetime, samples: list[Sample]) -> CachedSnapshot:
    body = render(samples)
    return CachedSnapshot(at, body, GzipPrefix(body))


class SnapshotCache:
    """Polls for a newer snapshot and keeps the rendered text of the latest one."""

    def __init__(self, settings: Settings, *, interval: float) -> None:
        self._settings = settings
        self._interval = interval
        self.current: CachedSnapshot | None = None
        self.last_db_success: float | None = None  # monotonic time of the last good poll

    def healthy(self) -> bool:
        """True when the database answered within the last three polls."""
        return (
            self.last_db_success is not None
            and time.monotonic() - self.last_db_success < 3 * self._interval + 5
        )

    async def refresh(self, conn: asyncpg.Connection) -> None:
        """Load and render the newest snapshot when it is newer than the one held."""
        newest = await store.latest_at(conn)
        self.last_db_success = time.monotonic()
        if newest is None or (self.current is not None and self.current.at >= newest):
            return
        samples = await store.samples_at(conn, newest)
        # Rendering a large estate takes a while: keep it off the loop that answers scrapes.
        self.current = await asyncio.to_thread(_prepare, newest, samples)

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh until stopped, reconnecting after database outages."""
        with contextlib.suppress(Stopped):
            await retry(
                partial(self._poll, stop),
                what="snapshot refresh failed, keeping the last snapshot",
                stop=stop,
                backoff=Backoff(first=self._interval, cap=self._interval),
                log=log,
                transient=_passing,
            )

    async def _poll(self, stop: asyncio.Event) -> None:
        """Refresh when the aggregator says a snapshot is stored, and at least every interval, on one
        connection, closed when stopped and dropped after a fault."""
        conn = await connect(self._settings)
        stored = asyncio.Event()
        try:
            await conn.add_listener(store.SNAPSHOT_CHANNEL, lambda *_: stored.set())
            while not stop.is_set():
                stored.clear()
                await self.refresh(conn)
                await wait_or_stop(stop, self._interval, wake=stored)
        except BaseException:
            conn.terminate()
            raise
        await conn.close(timeout=5)
