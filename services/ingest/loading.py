"""Reading an entity's stored events back for a fold, without re-decoding the batch just written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg

from trustline.shared.events.schemas import _Data
from trustline.shared.sql import Query, fetch

from .folds.core import StoredEvent, events_by_key

# Rows this transaction wrote (received_at = now(), its start) come back without their data: the fold
# takes it from the decoded events in memory instead of converting, sending and decoding it again.
_DATA_UNLESS_OURS = "CASE WHEN r.received_at = now() THEN NULL ELSE r.data::text END AS data"
_DATA = "r.data::text AS data"

Fresh = Mapping[tuple[str, str], _Data]  # the payloads of the events this transaction stored


class EventsQuery:
    """A statement selecting key, time, source, id, type and `{data}` from raw_events r, in two forms:
    with the data of this transaction's rows left out, and with all of it."""

    def __init__(self, sql: str) -> None:
        self.unless_ours = Query(sql.format(data=_DATA_UNLESS_OURS))
        self.full = Query(sql.format(data=_DATA))


async def fetch_events(
    conn: asyncpg.Connection, query: EventsQuery, /, *, fresh: Fresh, **values: Any
) -> dict[str, list[StoredEvent]]:
    """Run `query` with `values` bound by name; the stored events per key.

    `fresh` holds the payloads of the events this transaction stored, by (source, id).
    """
    rows = await fetch(conn, query.unless_ours, **values)
    if any(r["data"] is None and (r["source"], r["id"]) not in fresh for r in rows):
        # Written by another transaction that started in the same microsecond, or by an earlier call in
        # this one: read everything in full rather than guess.
        rows = await fetch(conn, query.full, **values)
    return events_by_key(rows, fresh)
