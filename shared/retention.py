"""Raw-event retention: whole months dropped past TRUSTLINE_RAW_RETENTION_DAYS, and the horizon after it.

Dropping a month is safe for the state it produced: every fold resumes from the stored versions valid
just before the earliest new event, so no fold reads an event older than the oldest one a batch brings.
Ingest therefore refuses a new event older than the horizon (the end of the newest dropped month): it
would refold its entity over events that are gone. A replay of a dropped event is still a duplicate,
because the idempotency keys (`raw_event_keys`) are kept.

Ingest batches hold a shared lock on the horizon from the check to their commit; the drop takes it
exclusively, so no batch checks the old horizon and then writes into a month being dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import asyncpg

from trustline.shared.events import Event
from trustline.shared.sql import Query, execute, fetch, fetchval

HORIZON_LOCK = 0x7472_7573_7452  # shared by ingest batches, exclusive while months are dropped
_SHARED = Query("SELECT pg_advisory_xact_lock_shared(:lock)")
_EXCLUSIVE = Query("SELECT pg_advisory_xact_lock(:lock)")
_HORIZON = Query(
    "SELECT (max(month) + interval '1 month')::timestamp AT TIME ZONE 'UTC' FROM raw_events_dropped"
)
_KNOWN = Query("""
SELECT k.source, k.id FROM raw_event_keys k
JOIN unnest(:sources::text[], :ids::text[]) AS w(source, id) ON k.source = w.source AND k.id = w.id
""")
_DROP = Query("SELECT trustline_drop_raw_events_partitions(:before)")


async def horizon(conn: asyncpg.Connection) -> datetime | None:
    """The end of the newest dropped month (None: nothing dropped); held until the transaction ends."""
    await execute(conn, _SHARED, lock=HORIZON_LOCK)
    at: datetime | None = await fetchval(conn, _HORIZON)
    return at


async def too_old(
    conn: asyncpg.Connection, events: Iterable[Event]
) -> tuple[datetime | None, set[tuple[str, str]]]:
    """The horizon, and the (source, id) of the events before it that are new (a replay of a dropped
    event is a duplicate).

    Call inside the transaction that stores the events."""
    at = await horizon(conn)
    old = [e for e in events if at is not None and e.time < at]
    if not old:
        return at, set()
    rows = await fetch(conn, _KNOWN, sources=[e.source for e in old], ids=[e.id for e in old])
    known = {(r["source"], r["id"]) for r in rows}
    return at, {(e.source, e.id) for e in old} - known


async def drop_months(conn: asyncpg.Connection, *, now: datetime, days: int) -> int:
    """Drop the raw-event months that end `days` or more before `now`; returns how many went."""
    async with conn.transaction():
        await execute(conn, _EXCLUSIVE, lock=HORIZON_LOCK)
        dropped: int = await fetchval(conn, _DROP, before=now - timedelta(days=days))
    return dropped
