"""Small asyncio helpers shared by the long-running components."""

from __future__ import annotations

import asyncio
import contextlib

from . import heartbeat

BEAT_SECONDS = 5.0  # a deliberate wait still beats this often


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`, waking early when `stop` is set; returns True when stopping.

    The wait beats the heartbeat: waiting on purpose (a backoff, a cadence) is not being stuck.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not stop.is_set():
        heartbeat.beat()
        left = deadline - loop.time()
        if left <= 0:
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=min(left, BEAT_SECONDS))
    return stop.is_set()
