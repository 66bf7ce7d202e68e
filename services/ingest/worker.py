"""The consumer loop: decode, store in one transaction, dead-letter, then commit offsets."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from trustline.shared.aio import wait_or_stop
from trustline.shared.db import is_transient, pool_scope
from trustline.shared.events import Decoder, Event, Rejection
from trustline.shared.settings import Settings
from trustline.shared.topics import dlq_topic, event_topics

from . import metrics
from .store import StoreResult, store_events

log = logging.getLogger(__name__)
T = TypeVar("T")
Batch = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
MAX_BACKOFF_SECONDS = 30.0


class Stopped(Exception):
    """The worker was asked to stop while waiting to retry."""


def dead_letter_headers(record: ConsumerRecord[bytes, bytes], why: Rejection) -> list[tuple[str, bytes]]:
    """The original headers plus why and where the record was refused."""
    ours = [
        ("trustline-dlq-reason", why.reason.encode()),
        ("trustline-dlq-detail", why.detail[:1000].encode("utf-8", "replace")),
        ("trustline-dlq-topic", record.topic.encode()),
        ("trustline-dlq-partition", str(record.partition).encode()),
        ("trustline-dlq-offset", str(record.offset).encode()),
    ]
    return [*(record.headers or ()), *ours]


class IngestWorker:
    """One member of the ingest consumer group."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool, stop: asyncio.Event) -> None:
        self._settings = settings
        self._pool = pool
        self._stop = stop
        self._decoder = Decoder(topic_prefix=settings.topic_prefix, max_bytes=settings.max_event_bytes)
        self._consumer = AIOKafkaConsumer(
            *event_topics(settings.topic_prefix),
            bootstrap_servers=settings.bootstrap_servers(),
            group_id=settings.consumer_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=settings.ingest_batch_max,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=max(settings.max_event_bytes * 2, 1024 * 1024),
        )
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap_servers(),
            acks="all",
            max_request_size=settings.max_event_bytes * 2 + 64 * 1024,
        )

    async def run(self) -> None:
        """Consume until the stop event is set; in-flight work is finished or left uncommitted."""
        await self._retry("start the broker clients", self._start)
        try:
            while not self._stop.is_set():
                batch = await self._consumer.getmany(
                    timeout_ms=self._settings.ingest_poll_timeout_ms,
                    max_records=self._settings.ingest_batch_max,
                )
                if batch:
                    await self._handle(batch)
        except Stopped:
            log.info("stopping: the in-flight batch stays uncommitted and will be redelivered")
        finally:
            await self._consumer.stop()
            await self._producer.stop()

    async def _start(self) -> None:
        await self._producer.start()
        await self._consumer.start()

    async def _handle(self, batch: Batch) -> None:
        started = time.perf_counter()
        events: list[Event] = []
        rejected: list[tuple[ConsumerRecord[bytes, bytes], Rejection]] = []
        for records in batch.values():
            for record in records:
                decoded = self._decoder.decode(record.topic, record.value, record.headers)
                if isinstance(decoded, Rejection):
                    rejected.append((record, decoded))
                else:
                    events.extend(decoded)
        result = await self._retry("store events", lambda: self._store(events))
        await self._retry("write dead letters", lambda: self._dead_letter(rejected))
        await self._commit({tp: records[-1].offset + 1 for tp, records in batch.items()})
        self._count(result, rejected)
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)

    async def _store(self, events: Sequence[Event]) -> StoreResult:
        async with self._pool.acquire() as conn, conn.transaction():
            return await store_events(conn, events)

    async def _dead_letter(self, rejected: Sequence[tuple[ConsumerRecord[bytes, bytes], Rejection]]) -> None:
        sends = [
            await self._producer.send(
                dlq_topic(record.topic),
                value=record.value,
                key=record.key,
                headers=dead_letter_headers(record, why),
            )
            for record, why in rejected
        ]
        await asyncio.gather(*sends)  # acknowledged by the broker before any offset moves

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        try:
            await self._consumer.commit(offsets)
        except CommitFailedError:
            # The group rebalanced: the new owner re-reads the batch; storage is idempotent.
            log.warning("offset commit refused after a rebalance; the batch will be redelivered")
            return
        metrics.LAST_COMMIT.set_to_current_time()

    def _count(
        self, result: StoreResult, rejected: Sequence[tuple[ConsumerRecord[bytes, bytes], Rejection]]
    ) -> None:
        for topic, n in result.stored.items():
            metrics.EVENTS.labels(topic, "stored").inc(n)
        for topic, n in result.duplicates.items():
            metrics.EVENTS.labels(topic, "duplicate").inc(n)
        for record, why in rejected:
            metrics.EVENTS.labels(record.topic, "dead_lettered").inc()
            metrics.DEAD_LETTERS.labels(record.topic, why.reason).inc()

    async def _retry(self, what: str, action: Callable[[], Awaitable[T]]) -> T:
        """Run `action`, retrying transient faults with bounded exponential backoff."""
        delay = 0.5
        while True:
            try:
                return await action()
            except Exception as exc:
                if not (is_transient(exc) or isinstance(exc, KafkaError)):
                    raise
                log.warning("cannot %s (%s); retrying in %.1fs", what, exc.__class__.__name__, delay)
            if await wait_or_stop(self._stop, delay):
                raise Stopped()
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Run one ingest worker until `stop` is set."""
    async with pool_scope(settings, size=2) as pool:
        await IngestWorker(settings, pool, stop).run()
