"""HTTP ingest: validate a batch with the ingest decoder, publish it, answer only after the broker acked."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import msgspec
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from trustline.shared.events import Decoder, Rejection
from trustline.shared.events.decode import Headers, binary_to_structured
from trustline.shared.settings import Settings

from .schemas import Accepted, ItemAccepted, ItemError

log = logging.getLogger(__name__)
SEND_TIMEOUT_SECONDS = 10.0
RETRY_AFTER_SECONDS = 5
SUBMITTER_HEADER = "trustline-submitted-by"


class BatchRefused(Exception):
    """Some items failed validation: nothing was published."""

    def __init__(self, status: int, errors: list[ItemError]) -> None:
        super().__init__(f"{len(errors)} item(s) refused")
        self.status, self.errors = status, errors


class BrokerUnavailable(Exception):
    """The broker did not acknowledge in time (answered as 503 with Retry-After)."""


@dataclass(frozen=True, slots=True)
class Record:
    """One validated item as it goes to Kafka."""

    topic: str
    key: bytes
    value: bytes
    events: int


class Publisher:
    """A producer started on first use and restarted after a failure, so the API runs without a broker."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _started(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self._settings.bootstrap_servers(),
                    acks="all",
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
        """Send every record and wait for every acknowledgement; BrokerUnavailable when that fails."""
        headers = [(SUBMITTER_HEADER, submitted_by.encode())]
        try:
            producer = await self._started()
            acks = [await producer.send(r.topic, value=r.value, key=r.key, headers=headers) for r in records]
            await asyncio.wait_for(asyncio.gather(*acks), SEND_TIMEOUT_SECONDS)
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("broker unavailable for HTTP ingest: %s", exc)
            await self.close()
            raise BrokerUnavailable(str(exc) or exc.__class__.__name__) from exc

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
    except msgspec.DecodeError:
        return [body]  # the decoder names it invalid_json
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
            records.append(Record(topic, got[0].domain_key[1].encode(), value, len(got)))
    if errors:
        raise BatchRefused(413 if any(e.reason == "too_large" for e in errors) else 400, errors)
    return records


async def ingest(
    publisher: Publisher, decoder: Decoder, *, items: list[bytes], max_items: int, submitted_by: str
) -> Accepted:
    """Validate the whole batch, then publish it: all items are accepted, or none."""
    records = validate(decoder, items, max_items=max_items)
    await publisher.publish(records, submitted_by=submitted_by)
    return Accepted(
        accepted=len(records),
        items=[ItemAccepted(index=i, topic=r.topic, events=r.events) for i, r in enumerate(records)],
    )
