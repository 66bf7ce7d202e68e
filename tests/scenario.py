"""Scenario building for aggregator tests: events stored through the real decoder and writer."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from tests.helpers import Series
from trustline.ingest.store import store_events
from trustline.shared.events import Decoder, Event, Rejection
from trustline.shared.metrics.snapshot import compute_snapshot
from trustline.shared.policy import Policy
from trustline.shared.topics import TYPE_TOPIC_SUFFIX

T = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
_ids = itertools.count()
_decoder = Decoder(
    topic_prefix="trustline", max_bytes=1 << 20, clock=lambda: datetime(2100, 1, 1, tzinfo=UTC)
)


def ev(
    type_: str, at: datetime, source: str = "test/tool", id_: str | None = None, **data: Any
) -> dict[str, Any]:
    """A CloudEvent of `type_` at `at` (ids are unique unless given)."""
    return {
        "specversion": "1.0",
        "id": id_ or f"e{next(_ids)}",
        "source": source,
        "type": type_,
        "time": at.isoformat(),
        "data": data,
    }


def decode(events: Iterable[dict[str, Any]]) -> list[Event]:
    """Validate through the production decoder; a scenario with a bad event is a broken test."""
    out = []
    for e in events:
        got = _decoder.decode(f"trustline.{TYPE_TOPIC_SUFFIX[e['type']]}", json.dumps(e).encode())
        assert not isinstance(got, Rejection), got
        out.extend(got)
    return out


async def load(conn: asyncpg.Connection, events: Iterable[dict[str, Any]]) -> None:
    """Store events in one transaction, as one ingest batch would."""
    async with conn.transaction():
        await store_events(conn, decode(events))


async def snapshot(
    conn: asyncpg.Connection,
    at: datetime = T,
    *,
    policy: Policy | None = None,
    max_business_units: int = 50,
    max_sources: int = 100,
) -> Series:
    """Every sample of the snapshot at `at`, keyed like parsed /metrics."""
    samples = await compute_snapshot(
        conn, at=at, policy=policy or Policy(), max_business_units=max_business_units, max_sources=max_sources
    )
    return {(s.name, frozenset(s.labels.items())): s.value for s in samples}
