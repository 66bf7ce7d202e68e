"""`trustline demo`: send the organisation's recent past (once), then a live stream at a steady rate.

The past is anchored in the database (marker.py): a second run sends nothing already stored and so never
doubles the numbers. Once ingest has stored the past, an `after_history` hook given by the caller (the CLI
backfills the metric history with it) runs once, alongside the live stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
from aiokafka import AIOKafkaProducer
from rich.console import Console

from trustline.shared import kafka
from trustline.shared.aio import wait_or_stop
from trustline.shared.progress import track
from trustline.shared.settings import Settings

from . import marker
from .catchup import Sent, wait_stored
from .events import DemoEvent
from .history import history
from .live import live
from .org import Org, build_org
from .risk import Findings, seed_acceptances

_encode = msgspec.json.Encoder().encode
SEND_CHUNK = 2000
LIVE_TICK_SECONDS = 0.2
# Called with the history window's start and end once all of it is stored, and a console for progress.
AfterHistory = Callable[[datetime, datetime, Console], Awaitable[None]]


@dataclass(frozen=True)
class DemoOptions:
    """What to generate and how fast."""

    seed: int = 7
    rate: float = 50.0
    history_days: int = 90
    assets: int = 3000
    identities: int = 2000
    duration: float | None = None

    @property
    def key(self) -> tuple[int, int, int, int]:
        """What makes two runs send the same history."""
        return (self.seed, self.assets, self.identities, self.history_days)


async def run_demo(
    settings: Settings,
    options: DemoOptions,
    stop: asyncio.Event,
    console: Console,
    after_history: AfterHistory | None = None,
) -> None:
    """Stream the demo until `stop` is set or the duration has passed (then finish the follow-up)."""
    org = build_org(seed=options.seed, assets=options.assets, identities=options.identities)
    producer = kafka.producer(settings, linger_ms=20)
    await producer.start()
    try:
        await _Run(producer, settings, org, options, stop, console).run(after_history)
    finally:
        await producer.stop()


@dataclass(frozen=True)
class _Run:
    """One demo run: what its phases (the past, the follow-up, the live stream) share."""

    producer: AIOKafkaProducer
    settings: Settings
    org: Org
    options: DemoOptions
    stop: asyncio.Event
    console: Console

    async def run(self, after_history: AfterHistory | None) -> None:
        """The past (once), then the live stream; the follow-up of the past runs alongside."""
        follow_up: asyncio.Task[None] | None = None
        try:
            if self.options.history_days > 0 and not self.stop.is_set():
                follow_up = await self._history(after_history)
            if not self.stop.is_set():
                await self._send_live()
            if follow_up is not None and not self.stop.is_set():
                await follow_up  # a --duration run still finishes storing and backfilling its past
        finally:
            if follow_up is not None and not follow_up.done():
                follow_up.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follow_up

    async def _send(self, events: list[DemoEvent], sent: Sent) -> None:
        prefix = self.settings.topic_prefix
        futures = [
            # The scenario speaks the default topic names; honour a configured prefix.
            await self.producer.send(
                f"{prefix}.{ev.topic.split('.', 1)[1]}", value=_encode(ev.event), key=ev.key.encode()
            )
            for ev in events
        ]
        for meta in await asyncio.gather(*futures):
            sent.note(meta.topic, meta.partition, meta.offset)

    async def _history(self, after_history: AfterHistory | None) -> asyncio.Task[None] | None:
        """Send the past unless it is stored already; returns the task that follows it up, if any."""
        options, console = self.options, self.console
        window = await marker.claim(self.settings, options.key, datetime.now(UTC))
        sent = Sent()
        if window.stored:
            console.print(
                f"history: the {options.history_days} days up to {window.end:%Y-%m-%d %H:%M}Z are stored "
                "already (an earlier run sent them); not sent again",
                highlight=False,
            )
            if window.backfilled or after_history is None:
                return None
        else:
            await self._send_history(window, sent)
        if self.stop.is_set():
            return None
        # Its progress prints as plain lines above the live stream's bar (one live display per console).
        lines = Console(force_terminal=False, soft_wrap=True)
        return asyncio.create_task(self._follow_up(window, sent, lines, after_history))

    async def _send_history(self, window: marker.HistoryWindow, sent: Sent) -> None:
        past = history(self.org, seed=self.options.seed, start=window.start, end=window.end)
        found = Findings()
        with track(self.console, f"history ({self.options.history_days} days)", None) as progress:
            while not self.stop.is_set():
                chunk = list(itertools.islice(past, SEND_CHUNK))
                if not chunk:
                    break
                for ev in chunk:
                    found.note(ev)
                await self._send(chunk, sent)
                progress.advance(len(chunk), note=f"event time {chunk[-1].event['time']}"[:36])
        if not self.stop.is_set():
            n = await seed_acceptances(self.settings, found, datetime.now(UTC))
            self.console.print(f"risk register: {n} demo acceptances proposed and decided", highlight=False)

    async def _follow_up(
        self, window: marker.HistoryWindow, sent: Sent, console: Console, after_history: AfterHistory | None
    ) -> None:
        """Wait for ingest to store the sent past, mark it stored, then run the hook once and mark that."""
        settings, key = self.settings, self.options.key
        if not window.stored:
            if not await wait_stored(settings, sent, self.stop, console):
                return
            await marker.mark(settings, key, "stored", datetime.now(UTC))
        if after_history is not None and not window.backfilled:
            try:
                await after_history(window.start, window.end, console)
            except Exception as exc:  # the live stream goes on; the next run tries again
                console.print(f"[red]the demo's follow-up failed ({exc.__class__.__name__}: {exc}); the next "
                              "`trustline demo` tries again[/]", highlight=False)  # fmt: skip
                return
            await marker.mark(settings, key, "backfilled", datetime.now(UTC))

    async def _send_live(self) -> None:
        options = self.options
        stream = live(self.org, seed=options.seed, clock=lambda: datetime.now(UTC))
        started = time.monotonic()
        sent = Sent()
        with track(self.console, f"live ({options.rate:g} events/s)", None) as progress:
            while not self.stop.is_set():
                elapsed = time.monotonic() - started
                if options.duration is not None and elapsed >= options.duration:
                    return
                due = int(elapsed * options.rate) - progress.done
                if due > 0:
                    await self._send([next(stream) for _ in range(due)], sent)
                    progress.advance(due)
                await wait_or_stop(self.stop, LIVE_TICK_SECONDS)
