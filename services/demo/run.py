"""`trustline demo`: send the organisation's recent past, then a live stream at a steady rate."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec
from aiokafka import AIOKafkaProducer
from rich.console import Console

from trustline.shared.aio import wait_or_stop
from trustline.shared.progress import track
from trustline.shared.settings import Settings

from .events import DemoEvent
from .history import history
from .live import live
from .org import Org, build_org
from .risk import Findings, seed_acceptances

_encode = msgspec.json.Encoder().encode
SEND_CHUNK = 2000
LIVE_TICK_SECONDS = 0.2


@dataclass(frozen=True)
class DemoOptions:
    """What to generate and how fast."""

    seed: int = 7
    rate: float = 50.0
    history_days: int = 90
    assets: int = 3000
    identities: int = 2000
    duration: float | None = None


def _topic(settings: Settings, ev: DemoEvent) -> str:
    # The scenario speaks the default names; honour a configured prefix.
    suffix = ev.topic.split(".", 1)[1]
    return f"{settings.topic_prefix}.{suffix}"


async def _send(producer: AIOKafkaProducer, settings: Settings, events: list[DemoEvent]) -> None:
    futures = [
        await producer.send(_topic(settings, ev), value=_encode(ev.event), key=ev.key.encode())
        for ev in events
    ]
    await asyncio.gather(*futures)


async def run_demo(settings: Settings, options: DemoOptions, stop: asyncio.Event, console: Console) -> None:
    """Stream the demo until `stop` is set or the duration has passed."""
    org = build_org(seed=options.seed, assets=options.assets, identities=options.identities)
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers(), acks="all", linger_ms=20)
    await producer.start()
    try:
        if options.history_days > 0 and not stop.is_set():
            await _send_history(producer, settings, org, options, stop, console)
        if not stop.is_set():
            await _send_live(producer, settings, org, options, stop, console)
    finally:
        await producer.stop()


async def _send_history(
    producer: AIOKafkaProducer,
    settings: Settings,
    org: Org,
    options: DemoOptions,
    stop: asyncio.Event,
    console: Console,
) -> None:
    end = datetime.now(UTC)
    past = history(org, seed=options.seed, start=end - timedelta(days=options.history_days), end=end)
    found = Findings()
    with track(console, f"history ({options.history_days} days)", None) as progress:
        while not stop.is_set():
            chunk = list(itertools.islice(past, SEND_CHUNK))
            if not chunk:
                break
            for ev in chunk:
                found.note(ev)
            await _send(producer, settings, chunk)
            progress.advance(len(chunk), note=f"event time {chunk[-1].event['time']}"[:36])
    if not stop.is_set():
        n = await seed_acceptances(settings, found, datetime.now(UTC))
        console.print(f"risk register: {n} demo acceptances proposed and decided", highlight=False)


async def _send_live(
    producer: AIOKafkaProducer,
    settings: Settings,
    org: Org,
    options: DemoOptions,
    stop: asyncio.Event,
    console: Console,
) -> None:
    stream = live(org, seed=options.seed, clock=lambda: datetime.now(UTC))
    started = time.monotonic()
    with track(console, f"live ({options.rate:g} events/s)", None) as progress:
        while not stop.is_set():
            elapsed = time.monotonic() - started
            if options.duration is not None and elapsed >= options.duration:
                return
            due = int(elapsed * options.rate) - progress.done
            if due > 0:
                await _send(producer, settings, [next(stream) for _ in range(due)])
                progress.advance(due)
            await wait_or_stop(stop, LIVE_TICK_SECONDS)
