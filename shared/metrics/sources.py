"""Feed freshness: the newest event time per source, so a silent feed is visible."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from trustline.shared.sql import Query, fetch

from .samples import Sample

# A skip scan over the (source, time) index: one short probe per source, not a scan of every event. The
# months dropped by the raw-event retention left their newest event per source behind.
SOURCES_SQL = Query("""
WITH RECURSIVE s AS (
    (SELECT source FROM raw_events ORDER BY source LIMIT 1)
    UNION ALL
    SELECT (SELECT r.source FROM raw_events r WHERE r.source > s.source ORDER BY r.source LIMIT 1)
    FROM s WHERE s.source IS NOT NULL
),
newest AS (
    SELECT s.source,
           (SELECT max(r.time) FROM raw_events r WHERE r.source = s.source AND r.time <= :at) AS last_event
    FROM s WHERE s.source IS NOT NULL
    UNION ALL
    SELECT source, newest FROM raw_events_dropped_sources WHERE newest <= :at
)
SELECT source, max(last_event) AS last_event FROM newest GROUP BY source
""")


async def source_samples(conn: asyncpg.Connection, *, at: datetime) -> list[Sample]:
    """source_last_event_timestamp_seconds for every source with an event at or before `at`."""
    return [
        Sample(
            "trustline_source_last_event_timestamp_seconds",
            {"source": r["source"]},
            r["last_event"].timestamp(),
        )
        for r in await fetch(conn, SOURCES_SQL, at=at)
        if r["last_event"] is not None
    ]
