"""The demo's memory in the database (`demo_history`): which window of the past it sends, whether all of it
was stored, and whether the metric history was backfilled from it.

History ids depend on the window, so the first run fixes the window and every later run with the same
options reuses it: a resend is deduplicated by (source, id), and once the window is stored it is not sent
again at all. The row lives with the data, so `make clean` (a new database) starts the demo afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from trustline.shared.db import connect
from trustline.shared.settings import Settings


@dataclass(frozen=True)
class HistoryWindow:
    """The demo's past: [start, end), and how far it got."""

    start: datetime
    end: datetime
    stored: bool  # every history event is in the database (ingest committed past all of them)
    backfilled: bool  # the daily metric history of the window is written


_KEY = "seed = $1 AND assets = $2 AND identities = $3 AND days = $4"


async def claim(settings: Settings, key: tuple[int, int, int, int], now: datetime) -> HistoryWindow:
    """The window of these options (seed, assets, identities, days): the stored one, or [now - days, now)."""
    end = now.astimezone(UTC).replace(microsecond=0)
    conn = await connect(settings)
    try:
        await conn.execute(
            "INSERT INTO demo_history (seed, assets, identities, days, start_at, end_at) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            *key,
            end - timedelta(days=key[3]),
            end,
        )
        row = await conn.fetchrow(
            "SELECT start_at, end_at, stored_at IS NOT NULL AS stored, "
            f"backfilled_at IS NOT NULL AS backfilled FROM demo_history WHERE {_KEY}",
            *key,
        )
    finally:
        await conn.close()
    return HistoryWindow(row["start_at"], row["end_at"], row["stored"], row["backfilled"])


async def mark(
    settings: Settings, key: tuple[int, int, int, int], what: Literal["stored", "backfilled"], now: datetime
) -> None:
    """Record that the window is stored, or backfilled."""
    column = {"stored": "stored_at", "backfilled": "backfilled_at"}[what]
    conn = await connect(settings)
    try:
        await conn.execute(f"UPDATE demo_history SET {column} = $5 WHERE {_KEY}", *key, now)
    finally:
        await conn.close()
