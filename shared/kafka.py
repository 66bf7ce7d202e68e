"""Every Kafka client is built here, from the settings.

One place knows how a client reaches the cluster (its TLS and SASL settings belong here too) and what
every client of a kind must do; a caller adds only what its purpose needs (sizes, linger, timeouts).
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict, Unpack

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from .settings import Settings


class ProducerOptions(TypedDict, total=False):
    """What a producer sets for its purpose; aiokafka's defaults otherwise."""

    linger_ms: int
    max_request_size: int
    request_timeout_ms: int


class ConsumerOptions(TypedDict, total=False):
    """What a consumer sets for its purpose; aiokafka's defaults otherwise."""

    group_id: str
    auto_offset_reset: Literal["earliest", "latest", "none"]
    max_poll_records: int
    fetch_max_bytes: int
    max_partition_fetch_bytes: int


def _cluster(settings: Settings) -> dict[str, Any]:
    """How every client reaches the cluster."""
    return {"bootstrap_servers": settings.bootstrap_servers()}


def producer(settings: Settings, **options: Unpack[ProducerOptions]) -> AIOKafkaProducer:
    """A producer (not started) whose sends are acknowledged once every in-sync replica holds the record."""
    return AIOKafkaProducer(**_cluster(settings), acks="all", **options)


def consumer(settings: Settings, **options: Unpack[ConsumerOptions]) -> AIOKafkaConsumer:
    """A consumer (not started) that never commits on its own: offsets move only after the database."""
    return AIOKafkaConsumer(**_cluster(settings), enable_auto_commit=False, **options)


def admin(settings: Settings, *, request_timeout_ms: int) -> AIOKafkaAdminClient:
    """An admin client (not started), for topic management."""
    return AIOKafkaAdminClient(**_cluster(settings), request_timeout_ms=request_timeout_ms)


def retriable(exc: BaseException) -> bool:
    """True when the Kafka client marks `exc` as a fault that may pass (a lost connection, an election)."""
    return isinstance(exc, KafkaError) and bool(getattr(exc, "retriable", False))
