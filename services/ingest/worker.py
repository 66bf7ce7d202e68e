"""The consumer loop: decode, store in one transaction, dead-letter, then commit offsets."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeAlias, TypeVar

import asyncpg
from aiokafka import ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError, RecordTooLargeError

from trustline.shared import heartbeat, kafka, retention
from trustline.shared.attribution import submitter
from trustline.shared.db import pool_scope
from trustline.shared.events import Decoder, Event, Rejection
from trustline.shared.events.decode import refusal
from trustline.shared.retry import Backoff, Stopped, retry
from trustline.shared.retry import is_retriable as _retriable
from trustline.shared.settings import Settings
from trustline.shared.topics import dlq_topic, event_topics

from . import metrics, overrides
from .dead_letters import (
    MAX_HEADER_BYTES,
    MAX_KEY_BYTES,
    DeadLetter,
    Origin,
    dead_letter,
    minimal,
    unreadable,
)
from .store import StoreResult, store_events

log = logging.getLogger(__name__)
T = TypeVar("T")
Record: TypeAlias = "ConsumerRecord[bytes, bytes]"
Batch: TypeAlias = "dict[TopicPartition, list[Record]]"
Refused: TypeAlias = "list[tuple[Record, Rejection]]"
Accepted: TypeAlias = "list[tuple[Record, tuple[Event, ...]]]"
MAX_BACKOFF_SECONDS = 30.0
BACKOFF = Backoff(first=0.5, cap=MAX_BACKOFF_SECONDS)


def origin(record: Record) -> Origin:
    """What a dead letter keeps of a consumed record."""
    return Origin(
        record.topic, record.partition, record.offset, record.key, record.value, record.headers or ()
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a batch's records: stored (or duplicates), refused, or skipped by an operator."""

    stored: StoreResult
    refused: Refused
    skipped: int


class _FinishBeforeRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """A rebalance waits for the batches in flight to be stored and committed before partitions move."""

    def __init__(self, drain: Callable[[], Awaitable[None]]) -> None:
        self._drain = drain

    async def on_partitions_revoked(self, revoked: object) -> None:
        await self._drain()

    async def on_partitions_assigned(self, assigned: object) -> None:
        return None


class IngestWorker:
    """One member of the ingest consumer group."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool, stop: asyncio.Event) -> None:
        self._settings = settings
        self._pool = pool
        self._stop = stop
        # The newest batch being stored; it commits its offsets only after the one before it.
        self._pending: asyncio.Task[None] | None = None
        self._decoder = Decoder(topic_prefix=settings.topic_prefix, max_bytes=settings.max_event_bytes)
        self._attribution = settings.attribution_key()
        if self._attribution is None:
            log.warning(
                "no TRUSTLINE_INGEST_ATTRIBUTION_SECRET: every event is attributed to its Kafka topic"
            )
        self._consumer = kafka.consumer(
            settings,
            group_id=settings.consumer_group,
            auto_offset_reset="earliest",
            max_poll_records=settings.ingest_batch_max,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=max(settings.max_event_bytes * 2, 1024 * 1024),
        )
        self._consumer.subscribe(
            event_topics(settings.topic_prefix), listener=_FinishBeforeRevoke(self._drain)
        )
        self._producer = kafka.producer(
            settings,
            # A dead letter holds at most a whole record, a capped key and capped headers.
            max_request_size=settings.max_event_bytes + MAX_KEY_BYTES + 2 * MAX_HEADER_BYTES,
        )

    async def run(self) -> None:
        """Consume until the stop event is set; in-flight work is finished or left uncommitted."""
        try:
            await self._retry("start the broker clients", self._start)
            while not self._stop.is_set():
                heartbeat.beat(ready=True)  # every poll: a loop stuck in a call stops beating
                try:
                    batch = await self._consumer.getmany(
                        timeout_ms=self._settings.ingest_poll_timeout_ms,
                        max_records=self._settings.ingest_batch_max,
                    )
                except RecordTooLargeError as exc:  # the client skips it: say so before offsets move past
                    await self._retry("dead-letter an unreadable record", partial(self._unreadable, exc))
                    continue
                if batch:
                    await self._submit(batch)
                await metrics.observe_lag(self._consumer)
            if self._pending is not None:
                # The last batch is committed before the worker stops, or its error is raised.
                await self._pending
        except Stopped:
            log.info("stopping: the batches in flight stay uncommitted and will be redelivered")
        finally:
            if self._pending is not None:
                self._pending.cancel()  # no-op when done; gather collects its outcome either way
                await asyncio.gather(self._pending, return_exceptions=True)
            await self._consumer.stop()
            await self._producer.stop()

    async def _submit(self, batch: Batch) -> None:
        """Start storing `batch`, then wait for the batch before it: two batches overlap at most.

        While one batch's statements run in PostgreSQL, the next is polled, decoded and its own
        transaction started, so the worker's Python and the database work at the same time.
        Offsets still move in order, each only after its batch (and every earlier one) committed.
        """
        started = time.perf_counter()
        accepted, refused = self._decode(batch)
        before = self._pending
        self._pending = asyncio.create_task(self._handle(batch, accepted, refused, before, started))
        if before is not None:
            await before

    async def _drain(self) -> None:
        """Wait until every batch taken so far is stored and committed (its failure surfaces in run)."""
        if self._pending is not None:
            await asyncio.gather(self._pending, return_exceptions=True)

    async def _start(self) -> None:
        await self._producer.start()
        await self._consumer.start()

    def _decode(self, batch: Batch) -> tuple[Accepted, Refused]:
        accepted: Accepted = []
        refused: Refused = []
        for records in batch.values():
            for record in records:
                decoded = self._decode_one(record)
                if isinstance(decoded, Rejection):
                    refused.append((record, decoded))
                else:
                    accepted.append((record, decoded))
        return accepted, refused

    def _decode_one(self, record: Record) -> tuple[Event, ...] | Rejection:
        headers = [(k, v or b"") for k, v in record.headers or ()]
        try:
            by = submitter(self._attribution, topic=record.topic, value=record.value, headers=headers)
            return self._decoder.decode(record.topic, record.value, headers, submitted_by=by)
        except Exception as exc:  # the decoder is total; this guards the worker against a bug in it
            log.exception("decoding %s[%d]@%d failed", record.topic, record.partition, record.offset)
            return refusal(exc)

    async def _handle(
        self,
        batch: Batch,
        accepted: Accepted,
        refused: Refused,
        before: asyncio.Task[None] | None,
        started: float,
    ) -> None:
        outcome = await self._retry("store events", lambda: self._store_batch(accepted, refused))
        await self._retry("write dead letters", lambda: self._dead_letter(outcome.refused))
        if before is not None:
            await before  # a failed earlier batch fails this one too: its offsets must not move past it
        await self._commit({tp: records[-1].offset + 1 for tp, records in batch.items()})
        self._count(outcome)
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)

    async def _store(self, accepted: Accepted) -> tuple[StoreResult, Refused]:
        """Store the records' events in one transaction, but refuse a record with a new event older
        than the raw-event retention horizon (its entity would be refolded over events that are gone)."""
        async with self._pool.acquire() as conn, conn.transaction():
            at, old = await retention.too_old(conn, [e for _, events in accepted for e in events])
            flags = [any((e.source, e.id) in old for e in events) for _, events in accepted]
            pairs = list(zip(accepted, flags, strict=True))
            result = await store_events(conn, [e for (_, events), late in pairs if not late for e in events])
        why = Rejection("time_out_of_range", f"older than the raw-event retention horizon {at}")
        return result, [(r, why) for (r, _), late in pairs if late]

    async def _store_batch(self, accepted: Accepted, refused: Refused) -> Outcome:
        """Store the batch in one transaction; if the database refuses it, find the records it refuses.

        Operator overrides are read first, on every attempt, so a record holding the batch up can be
        skipped or quarantined while the worker retries.
        """
        accepted, refused, skipped = await self._apply_overrides(accepted, refused)
        try:
            result, late = await self._store(accepted)
            return Outcome(result, refused + late, skipped)
        except Exception as exc:
            if _retriable(exc):
                raise
            log.warning("the database refused a batch (%s); storing its records one by one", exc)
        stored: Counter[str] = Counter()
        duplicates: Counter[str] = Counter()
        refused = list(refused)
        for record, events in accepted:
            try:
                one, late = await self._store([(record, events)])
            except Exception as exc:
                if _retriable(exc):
                    raise
                refused.append((record, Rejection("invalid_data", f"refused by the database: {exc}")))
                continue
            refused += late
            stored += one.stored
            duplicates += one.duplicates
        return Outcome(StoreResult(stored, duplicates), refused, skipped)

    async def _apply_overrides(self, accepted: Accepted, refused: Refused) -> tuple[Accepted, Refused, int]:
        topics = {r.topic for r, _ in accepted} | {r.topic for r, _ in refused}
        async with self._pool.acquire() as conn:
            found = await overrides.for_topics(conn, sorted(topics))
        if not found:
            return accepted, refused, 0

        def decision(record: Record) -> overrides.Override | None:
            return found.get((record.topic, record.partition, record.offset))

        quarantined: Refused = []
        skipped = 0
        for record in [r for r, _ in accepted] + [r for r, _ in refused]:
            if (override := decision(record)) is None:
                continue
            log.warning(
                "operator override: %s %s[%d]@%d (requested by %s: %s)", override.action, record.topic,
                record.partition, record.offset, override.requested_by, override.reason,
            )  # fmt: skip
            if override.action == "skip":
                skipped += 1
            else:
                detail = f"quarantined by {override.requested_by}: {override.reason}"
                quarantined.append((record, Rejection("invalid_data", detail)))
        return (
            [(r, events) for r, events in accepted if decision(r) is None],
            [(r, why) for r, why in refused if decision(r) is None] + quarantined,
            skipped,
        )

    async def _dead_letter(self, refused: Refused) -> None:
        """Write every dead letter and wait for the broker's acks; a copy it refuses goes again, smaller."""
        letters = [
            dead_letter(origin(r), why, max_value_bytes=self._settings.max_event_bytes) for r, why in refused
        ]
        acks = [
            await self._send(dlq_topic(r.topic), letter)
            for (r, _), letter in zip(refused, letters, strict=True)
        ]
        results = await asyncio.gather(*acks, return_exceptions=True)
        for (record, _), letter, result in zip(refused, letters, results, strict=True):
            if not isinstance(result, BaseException):
                continue
            if _retriable(result):
                raise result
            log.warning(
                "the broker refused the dead letter of %s[%d]@%d (%s); writing a smaller copy",
                record.topic, record.partition, record.offset, result.__class__.__name__,
            )  # fmt: skip
            await (await self._send(dlq_topic(record.topic), minimal(letter)))

    async def _unreadable(self, exc: RecordTooLargeError) -> None:
        """Dead-letter a marker for a record larger than the fetch size (a broker that truncates)."""
        _, tp, offset, fetch_bytes = exc.args
        log.error(
            "%s[%d]@%d is larger than the fetch size: dead-lettered unread", tp.topic, tp.partition, offset
        )
        metrics.EVENTS.labels(tp.topic, "dead_lettered").inc()
        metrics.DEAD_LETTERS.labels(tp.topic, "too_large").inc()
        letter = unreadable(tp.topic, tp.partition, offset, fetch_bytes)
        await (await self._send(dlq_topic(tp.topic), letter))

    async def _send(self, topic: str, letter: DeadLetter) -> asyncio.Future[object]:
        """Queue one dead letter; a refusal by the client itself (say, too large) is in the future too."""
        try:
            future: asyncio.Future[object] = await self._producer.send(
                topic, value=letter.value, key=letter.key, headers=letter.headers
            )
        except KafkaError as exc:
            if _retriable(exc):
                raise
            future = asyncio.get_running_loop().create_future()
            future.set_exception(exc)
        return future

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        # Partitions revoked meanwhile belong to another member now: it re-reads them (storage is idempotent).
        mine = {tp: o for tp, o in offsets.items() if tp in self._consumer.assignment()}
        try:
            if mine:
                await self._consumer.commit(mine)
        except (CommitFailedError, IllegalStateError) as exc:
            log.warning("offset commit refused after a rebalance (%s); the batch will be redelivered", exc)
            return
        metrics.LAST_COMMIT.set_to_current_time()

    def _count(self, outcome: Outcome) -> None:
        for topic, n in outcome.stored.stored.items():
            metrics.EVENTS.labels(topic, "stored").inc(n)
        for topic, n in outcome.stored.duplicates.items():
            metrics.EVENTS.labels(topic, "duplicate").inc(n)
        if outcome.skipped:
            metrics.SKIPPED.inc(outcome.skipped)
        for record, why in outcome.refused:
            metrics.EVENTS.labels(record.topic, "dead_lettered").inc()
            metrics.DEAD_LETTERS.labels(record.topic, why.reason).inc()

    async def _retry(self, what: str, action: Callable[[], Awaitable[T]]) -> T:
        """Run `action`, retrying transient faults with bounded exponential backoff."""
        return await retry(action, what=f"cannot {what}", stop=self._stop, backoff=BACKOFF, log=log)


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Run one ingest worker until `stop` is set, with its own /metrics when a port is configured."""
    metrics.serve(
        settings.ingest_metrics_port,
        settings.metrics_host,
        token=settings.metrics_token,
        max_age=settings.heartbeat_max_age_seconds,
    )
    async with pool_scope(settings, size=2) as pool:
        await IngestWorker(settings, pool, stop).run()
