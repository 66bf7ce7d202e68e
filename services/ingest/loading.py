"""Reading an entity's stored events back for a fold, without re-decoding the batch just written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg

from trustline.shared.events import Event

from .folds.core import StoredEvent, events_by_key

# Rows this transaction wrote (received_at = now(), its start) come back without their data: the fold
# takes it from the decoded events in memory instead of converting, sending and decoding it again.
_DATA_UNLESS_OURS = "CASE WHEN r.received_at = now() THEN NULL ELSE r.data::text END AS data"
_DATA = "r.data::text AS data"

Fresh = Mapping[tuple[str, str], Event]


async def fetch_events(
    conn: asyncpg.Connection, sql: str, *args: Any, fresh: Fresh
) -> dict[str, list[StoredEvent]]:
    """Run `sql` (selecting key, time, source, id, type and `{data}` from raw_events r), per key.

    `fresh` holds the events this transaction stored, by (source, id).
    """
    rows = await conn.fetch(sql.format(data=_DATA_UNLESS_OURS), *args)
    if any(r["data"] is None and (r["source"], r["id"]) not in fresh for r in rows):
        # Written by another transaction that started in the same microsecond, or by an earlier call in
        # this one: read everything in full rather than guess.
        rows = await conn.fetch(sql.format(data=_DATA), *args)
    return events_by_key(rows, {k: ev.data for k, ev in fresh.items()})
