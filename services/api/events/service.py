"""HTTP ingest: validate a batch with the ingest decoder, publish it, answer only after the broker acked."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import msgspec
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from trustline.shared import kafka
from trustline.shared.attribution import signed_headers
from trustline.shared.auth.keys import Principal
from trustline.shared.events import Decoder, Rejection
from trustline.shared.events.decode import Headers, binary_to_structured
from trustline.shared.settings import Settings

from .schemas import Accepted, ItemAccepted, ItemError, ItemForbidden

log = logging.getLogger(__name__)
SEND_TIMEOUT_SECONDS = 10.0
RETRY_AFTER_SECONDS = 5


class BatchRefused(Exception):
    """Some items failed validation: nothing was published."""

    def __init__(self, status: int, errors: list[ItemError]) -> None:
        super().__init__(f"{len(errors)} item(s) refused")
        self.status, self.errors = status, errors


class SourcesForbidden(Exception):
    """Some items speak for sources the key may not write: nothing was published."""

    def __init__(self, errors: list[ItemForbidden]) -> None:
        super().__init__(f"{len(errors)} item(s) name a source this key may not write")
        self.errors = errors


class BrokerUnavailable(Exception):
    """The broker did not acknowledge in time (answered as 503 with Retry-After)."""


@dataclass(frozen=True, slots=True)
class Record:
    """One validated item as it goes to Kafka."""

    topic: str
    key: bytes
    value: bytes
    events: int
    sources: frozenset[str]


class Publisher:
    """A producer started on first use and restarted after a failure, so the API runs without a broker."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        if settings.attribution_key() is None:
            log.warning(
                "no TRUSTLINE_INGEST_ATTRIBUTION_SECRET: HTTP events will be attributed to their topic"
            )
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _started(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = kafka.producer(
                    self._settings,
                    linger_ms=5,
                    request_timeout_ms=int(SEND_TIMEOUT_SECONDS * 1000 / 2),
                    max_request_size=self._settings.max_event_bytes * 2,
                )
                try:
                    await asyncio.wait_for(producer.start(), SEND_TIMEOUT_SECONDS)
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def publish(self, records: list[Record], *, submitted_by: str) -> None:
        """Send every record and wait for every acknowledgement; BrokerUnavailable when that fails.

        Each record carries the submitting principal, signed so that the ingest workers can tell it
        from a header any Kafka producer could write.
        """
        secret = self._settings.attribution_key()
        try:
            producer = await self._started()
            acks = [
                await producer.send(
                    r.topic,
                    value=r.value,
                    key=r.key,
                    headers=signed_headers(secret, principal=submitted_by, topic=r.topic, value=r.value),
                )
                for r in records
            ]
            await asyncio.wait_for(asyncio.gather(*acks), SEND_TIMEOUT_SECONDS)
        except (KafkaError, OSError, TimeoutError) as exc:
            # The broker's address and the client's message go to the log, never to the caller.
            log.warning("broker unavailable for HTTP ingest: %s: %s", exc.__class__.__name__, exc)
            await self.close()
            raise BrokerUnavailable(exc.__class__.__name__) from exc

    async def close(self) -> None:
        """Stop the producer (a later publish starts a new one)."""
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()


def items_of(body: bytes, binary_headers: Headers) -> list[bytes]:
    """The records of a body: a binary-mode event, one structured event or OCSF record, or an array."""
    if binary_headers:
        structured = binary_to_structured(binary_headers, body)
        return [structured if structured is not None else body]
    try:
        parsed = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return [body]  # the decoder names what is wrong with it
    if isinstance(parsed, list):
        return [msgspec.json.encode(item) for item in parsed]
    return [body]


def validate(decoder: Decoder, items: list[bytes], *, max_items: int) -> list[Record]:
    """Every item decoded on its type's topic; BatchRefused (413 or 400) with a reason per refused item."""
    if not items:
        raise BatchRefused(400, [ItemError(index=0, reason="invalid_envelope", detail="the batch is empty")])
    if len(items) > max_items:
        detail = f"{len(items)} items; a batch holds at most {max_items}"
        raise BatchRefused(413, [ItemError(index=max_items, reason="too_large", detail=detail)])
    records: list[Record] = []
    errors: list[ItemError] = []
    for index, value in enumerate(items):
        topic, got = decoder.route(value)
        if isinstance(got, Rejection):
            errors.append(ItemError(index=index, reason=got.reason, detail=got.detail))
        else:
            sources = frozenset(e.source for e in got)
            records.append(Record(topic, got[0].domain_key[1].encode(), value, len(got), sources))
    if errors:
        raise BatchRefused(413 if any(e.reason == "too_large" for e in errors) else 400, errors)
    return records


def authorize(who: Principal, records: list[Record]) -> None:
    """SourcesForbidden unless the key may write the source of every event of every record."""
    errors = [
        ItemForbidden(index=i, source=source, detail=f"key {who.name!r} may not write source {source!r}")
        for i, r in enumerate(records)
        for source in sorted(r.sources)
        if not who.may_write(source)
    ]
    if errors:
        raise SourcesForbidden(errors)


async def ingest(
    publisher: Publisher, decoder: Decoder, *, items: list[bytes], max_items: int, who: Principal
) -> Accepted:
    """Validate the whole batch, check its sources against the key, then publish it: all or none."""
    records = validate(decoder, items, max_items=max_items)
    authorize(who, records)
    await publisher.publish(records, submitted_by=who.name)
    return Accepted(
        accepted=len(records),
        items=[ItemAccepted(index=i, topic=r.topic, events=r.events) for i, r in enumerate(records)],
    )
