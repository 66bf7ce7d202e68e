"""Operator overrides for single Kafka records: skip one, or quarantine it in the dead-letter topic.

The workers never die on a record, but a record can still hold them up (say a fault that looks
transient and is not). An operator then names it by topic, partition and offset; every worker reads
the overrides of the topics it consumes before storing a batch, and each decision stays in the table
as an audit trail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from trustline.shared.sql import Query, execute, fetch

Action = Literal["skip", "quarantine"]
Position = tuple[str, int, int]  # topic, partition, offset


@dataclass(frozen=True, slots=True)
class Override:
    """One operator decision about one record."""

    topic: str
    partition: int
    offset: int
    action: Action
    reason: str
    requested_by: str
    requested_at: datetime


class OverrideExists(ValueError):
    """That record already has an override."""


_COLUMNS = 'topic, partition, "offset", action, reason, requested_by, requested_at'
_INSERT = Query(
    f"INSERT INTO ingest_overrides ({_COLUMNS}) "
    "VALUES (:topic, :partition, :offset, :action, :reason, :requested_by, :requested_at)"
)
_OF_TOPICS = Query(f"SELECT {_COLUMNS} FROM ingest_overrides WHERE topic = ANY(:topics::text[])")
_ALL = Query(f"SELECT {_COLUMNS} FROM ingest_overrides ORDER BY requested_at DESC")


async def request(conn: asyncpg.Connection, override: Override) -> None:
    """Record an override; OverrideExists when that record already has one."""
    try:
        await execute(conn, _INSERT, **asdict(override))
    except asyncpg.UniqueViolationError as exc:
        where = f"{override.topic}[{override.partition}]@{override.offset}"
        raise OverrideExists(f"{where} already has an override") from exc


async def for_topics(conn: asyncpg.Connection, topics: Sequence[str]) -> dict[Position, Override]:
    """Every override of the given topics, by position (the table stays small: one row per decision)."""
    rows = await fetch(conn, _OF_TOPICS, topics=list(topics))
    return {(r["topic"], r["partition"], r["offset"]): Override(**dict(r)) for r in rows}


async def list_overrides(conn: asyncpg.Connection) -> list[Override]:
    """Every override, newest first."""
    return [Override(**dict(r)) for r in await fetch(conn, _ALL)]
