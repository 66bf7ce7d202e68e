"""Small asyncio helpers shared by the long-running components."""

from __future__ import annotations

import asyncio
import contextlib

from . import heartbeat

BEAT_SECONDS = 5.0  # a deliberate wait still beats this often


async def wait_or_stop(stop: asyncio.Event, seconds: float, *, wake: asyncio.Event | None = None) -> bool:
    """Sleep up to `seconds`, waking early when `stop` (or `wake`, when given) is set; returns True when
    stopping.

    The wait beats the heartbeat: waiting on purpose (a backoff, a cadence) is not being stuck.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not stop.is_set() and not (wake is not None and wake.is_set()):
        heartbeat.beat()
        left = deadline - loop.time()
        if left <= 0:
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_either(stop, wake), timeout=min(left, BEAT_SECONDS))
    return stop.is_set()


async def _either(stop: asyncio.Event, wake: asyncio.Event | None) -> None:
    if wake is None:
        await stop.wait()
        return
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
