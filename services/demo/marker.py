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
from trustline.shared.sql import Fragment, Query, execute, fetchrow


@dataclass(frozen=True)
class HistoryWindow:
    """The demo's past: [start, end), and how far it got."""

    start: datetime
    end: datetime
    stored: bool  # every history event is in the database (ingest committed past all of them)
    backfilled: bool  # the daily metric history of the window is written


_KEY = Fragment(
    "seed = :seed AND assets = :assets AND identities = :identities AND days = :days",
    needs=("seed", "assets", "identities", "days"),
)
_CLAIM = Query(
    "INSERT INTO demo_history (seed, assets, identities, days, start_at, end_at) "
    "VALUES (:seed, :assets, :identities, :days, :start_at, :end_at) ON CONFLICT DO NOTHING"
)
_WINDOW = Query(
    "SELECT start_at, end_at, stored_at IS NOT NULL AS stored, "
    f"backfilled_at IS NOT NULL AS backfilled FROM demo_history WHERE {_KEY}"
)
# The column is one of two names chosen by code, never a caller's text.
_MARK = {c: Query(f"UPDATE demo_history SET {c} = :now WHERE {_KEY}") for c in ("stored_at", "backfilled_at")}


def _named(key: tuple[int, int, int, int]) -> dict[str, int]:
    return dict(zip(("seed", "assets", "identities", "days"), key, strict=True))


async def claim(settings: Settings, key: tuple[int, int, int, int], now: datetime) -> HistoryWindow:
    """The window of these options (seed, assets, identities, days): the stored one, or [now - days, now)."""
    end = now.astimezone(UTC).replace(microsecond=0)
    conn = await connect(settings)
    try:
        await execute(conn, _CLAIM, **_named(key), start_at=end - timedelta(days=key[3]), end_at=end)
        row = await fetchrow(conn, _WINDOW, **_named(key))
        assert row is not None  # claimed just above
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
        await execute(conn, _MARK[column], **_named(key), now=now)
    finally:
        await conn.close()
