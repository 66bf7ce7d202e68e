"""Raw events: stored once per (source, id), in monthly partitions of event time.

The partitioned raw_events cannot carry a unique index on (source, id) alone (PostgreSQL requires the
partition key in it), so the narrow raw_event_keys table holds the idempotency key. A batch's keys go
there first; its primary key decides which deliveries are seen for the first time, and a concurrent
transaction inserting the same key waits for ours and then skips it. Only those events are copied into
raw_events. The first stored version of an event wins: a re-delivery is dropped even when
its time (or anything else) differs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import msgspec

from trustline.shared import schema
from trustline.shared.events import Event
from trustline.shared.sql import Query, execute, fetch

from .tables import by_column, getter, unnest

# What a worker writes: every column but those the database fills in (received_at).
RAW_COLUMNS = tuple(c.name for c in schema.raw_events.c if c.server_default is None)
_KEY_COLUMNS = tuple(schema.raw_event_keys.c.keys())
_raw_row, _key_row = getter(RAW_COLUMNS), getter(_KEY_COLUMNS)
_PARTITION_LOCK = 0x7261_7750_6172  # serialises partition creation between workers
_MISSING = Query("SELECT n FROM unnest(:names::text[]) AS n WHERE to_regclass(n) IS NULL")
_LOCK = Query("SELECT pg_advisory_xact_lock(:lock)")
_CREATE = Query("SELECT trustline_create_raw_events_partitions(:months::date[])")
_INSERT_KEYS = Query(
    f"INSERT INTO raw_event_keys ({', '.join(_KEY_COLUMNS)}) "
    f"SELECT * FROM {unnest(schema.raw_event_keys, _KEY_COLUMNS, 'k')} ON CONFLICT DO NOTHING "
    "RETURNING source, id"
)
_encoder = msgspec.json.Encoder()


def raw_record(ev: Event) -> tuple[Any, ...]:
    """The raw_events row of one event."""
    domain, key = ev.domain_key
    return _raw_row(
        {
            "source": ev.source,
            "id": ev.id,
            "type": ev.type,
            "topic": ev.topic,
            "domain": domain,
            "key": key,
            "time": ev.time,
            "subject": ev.subject,
            "data": _encoder.encode(ev.data).decode(),
            "submitted_by": ev.submitted_by,
        },
    )


def month_of(at: datetime) -> date:
    """The first day of the UTC month holding `at`."""
    utc = at.astimezone(UTC)
    return date(utc.year, utc.month, 1)


def partition_name(month: date) -> str:
    """The raw_events partition holding one UTC month."""
    return f"raw_events_p{month:%Y%m}"


async def ensure_partitions(conn: asyncpg.Connection, months: Iterable[date]) -> None:
    """Create the monthly partitions that do not exist yet (inside the caller's transaction)."""
    wanted = {partition_name(m): m for m in months}
    if not wanted:
        return
    missing = await fetch(conn, _MISSING, names=sorted(wanted))
    if not missing:
        return
    await execute(conn, _LOCK, lock=_PARTITION_LOCK)
    # The services' role owns no table, so the schema owner's SECURITY DEFINER function (migration 0006)
    # creates the months. Nothing else ever writes the default partition, so attaching a month never
    # finds rows to move.
    await execute(conn, _CREATE, months=[wanted[name] for (name,) in missing])


async def insert_new(conn: asyncpg.Connection, events: Sequence[Event]) -> list[Event]:
    """Store the events whose (source, id) was never stored; return them (the first of in-batch repeats)."""
    first: dict[tuple[str, str], Event] = {}
    for ev in events:
        first.setdefault((ev.source, ev.id), ev)
    # Sorted, so two batches sharing keys take their row locks in the same order and cannot deadlock.
    keys = sorted(first)
    new = [first[k] for k in await _insert_keys(conn, keys, [first[k].time for k in keys])]
    await ensure_partitions(conn, {month_of(ev.time) for ev in new})
    await conn.copy_records_to_table("raw_events", records=map(raw_record, new), columns=RAW_COLUMNS)
    return new


async def _insert_keys(
    conn: asyncpg.Connection, keys: list[tuple[str, str]], times: list[datetime]
) -> list[tuple[str, str]]:
    """Insert the keys (with their event times) not stored yet and return them."""
    records = [
        _key_row({"source": source, "id": id_, "time": time})
        for (source, id_), time in zip(keys, times, strict=True)
    ]
    # Usually none is: COPY them (about three times faster than INSERT ... ON CONFLICT), under a savepoint
    # so that a duplicate, or a key another transaction has just committed, undoes only this attempt.
    try:
        async with conn.transaction():
            await conn.copy_records_to_table("raw_event_keys", records=records, columns=_KEY_COLUMNS)
        return keys
    except asyncpg.UniqueViolationError:
        pass
    rows = await fetch(conn, _INSERT_KEYS, **by_column(_KEY_COLUMNS, records))
    return [(r["source"], r["id"]) for r in rows]
