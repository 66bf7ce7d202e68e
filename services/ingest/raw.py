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

from trustline.shared.events import Event

RAW_COLUMNS = ("source", "id", "type", "topic", "domain", "key", "time", "subject", "data", "submitted_by")
_PARTITION_LOCK = 0x7261_7750_6172  # serialises partition creation between workers
_encoder = msgspec.json.Encoder()


def raw_record(ev: Event) -> tuple[Any, ...]:
    """The raw_events row of one event."""
    domain, key = ev.domain_key
    data = _encoder.encode(ev.data).decode()
    return (ev.source, ev.id, ev.type, ev.topic, domain, key, ev.time, ev.subject, data, ev.submitted_by)


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
    missing = await conn.fetch(
        "SELECT n FROM unnest($1::text[]) AS n WHERE to_regclass(n) IS NULL", sorted(wanted)
    )
    if not missing:
        return
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _PARTITION_LOCK)
    # The services' role owns no table, so the schema owner's SECURITY DEFINER function (migration 0006)
    # creates the months. Nothing else ever writes the default partition, so attaching a month never
    # finds rows to move.
    await conn.execute(
        "SELECT trustline_create_raw_events_partitions($1::date[])", [wanted[name] for (name,) in missing]
    )


async def insert_new(conn: asyncpg.Connection, events: Sequence[Event]) -> list[Event]:
    """Store the events whose (source, id) was never stored; return them (the first of in-batch repeats)."""
    first: dict[tuple[str, str], Event] = {}
    for ev in events:
        first.setdefault((ev.source, ev.id), ev)
    # Sorted, so two batches sharing keys take their row locks in the same order and cannot deadlock.
    keys = [(source, id_, first[(source, id_)].time) for source, id_ in sorted(first)]
    new = [first[k] for k in await _insert_keys(conn, keys)]
    await ensure_partitions(conn, {month_of(ev.time) for ev in new})
    await conn.copy_records_to_table("raw_events", records=map(raw_record, new), columns=RAW_COLUMNS)
    return new


async def _insert_keys(
    conn: asyncpg.Connection, keys: list[tuple[str, str, datetime]]
) -> list[tuple[str, str]]:
    """Insert the keys not stored yet and return them."""
    # Usually none is: COPY them (about three times faster than INSERT ... ON CONFLICT), under a savepoint
    # so that a duplicate, or a key another transaction has just committed, undoes only this attempt.
    try:
        async with conn.transaction():
            await conn.copy_records_to_table("raw_event_keys", records=keys, columns=("source", "id", "time"))
        return [(k[0], k[1]) for k in keys]
    except asyncpg.UniqueViolationError:
        pass
    rows = await conn.fetch(
        "INSERT INTO raw_event_keys (source, id, time) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) ON CONFLICT DO NOTHING "
        "RETURNING source, id",
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
    )
    return [(r[0], r[1]) for r in rows]
