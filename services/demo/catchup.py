"""Wait until the ingest consumer group has stored what the demo sent.

Ingest commits a partition's offset only after the database transaction that stored its records, so once
the group's committed offsets reach the end of what was sent, every sent event is in the database.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.console import Console

from trustline.shared import kafka
from trustline.shared.aio import wait_or_stop
from trustline.shared.progress import track
from trustline.shared.settings import Settings

POLL_SECONDS = 1.0


@dataclass
class Sent:
    """The offsets a stream of sends covered, per partition: [first, last + 1)."""

    ranges: dict[TopicPartition, tuple[int, int]] = field(default_factory=dict)

    def note(self, topic: str, partition: int, offset: int) -> None:
        """Remember one acknowledged record."""
        tp = TopicPartition(topic, partition)
        first, end = self.ranges.get(tp, (offset, offset + 1))
        self.ranges[tp] = (min(first, offset), max(end, offset + 1))

    @property
    def total(self) -> int:
        """How many records were sent."""
        return sum(end - first for first, end in self.ranges.values())


async def _stored(consumer: AIOKafkaConsumer, sent: Sent) -> int:
    done = 0
    for tp, (first, end) in sent.ranges.items():
        committed = await consumer.committed(tp) or 0
        done += max(0, min(committed, end) - first)
    return done


async def wait_stored(settings: Settings, sent: Sent, stop: asyncio.Event, console: Console) -> bool:
    """Wait until ingest has committed past every sent record (with progress); False when stopped first."""
    # A consumer that never subscribes only reads the group's offsets; it does not join the group.
    consumer = kafka.consumer(settings, group_id=settings.consumer_group)
    await consumer.start()
    try:
        with track(console, "ingest storing the history", sent.total) as progress:
            while True:
                done = await _stored(consumer, sent)
                progress.advance(done - progress.done)
                if done >= sent.total:
                    return True
                if await wait_or_stop(stop, POLL_SECONDS):
                    return False
    finally:
        await consumer.stop()
