"""Retrying what may pass: which faults are transient, and bounded backoff that a stop event cuts short.

A transient fault is retried, never dead-lettered; any other fault is raised at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from . import kafka
from .aio import wait_or_stop
from .db import is_transient

T = TypeVar("T")


class Stopped(Exception):
    """The stop event was set while waiting to retry."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between attempts: `first`, doubled after each one, never above `cap` (equal: a fixed delay)."""

    first: float
    cap: float

    def __post_init__(self) -> None:
        if not 0 <= self.first <= self.cap:
            raise ValueError(f"a backoff needs 0 <= first <= cap, not {self.first} and {self.cap}")

    def delays(self) -> Iterator[float]:
        """The delay before each retry, in seconds (endless)."""
        delay = self.first
        while True:
            yield delay
            delay = min(delay * 2, self.cap)


def is_retriable(exc: BaseException) -> bool:
    """True for a fault that may pass: a database connection fault or one the Kafka client marks retriable."""
    return is_transient(exc) or kafka.retriable(exc)


async def retry(
    action: Callable[[], Awaitable[T]],
    *,
    what: str,
    stop: asyncio.Event,
    backoff: Backoff,
    log: logging.Logger,
    transient: Callable[[BaseException], bool] = is_retriable,
) -> T:
    """Await `action` until it returns, retrying its transient faults after each delay of `backoff`.

    Each retry logs `<what> (<fault>); retrying in <delay>s` on `log`. Any other fault is raised;
    Stopped is raised when `stop` is set while waiting.
    """
    delays = backoff.delays()
    while True:
        try:
            return await action()
        except Exception as exc:
            if not transient(exc):
                raise
            delay = next(delays)
            log.warning("%s (%s); retrying in %.1fs", what, exc.__class__.__name__, delay)
        if await wait_or_stop(stop, delay):
            raise Stopped()
