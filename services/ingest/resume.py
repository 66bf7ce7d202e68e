"""Incremental refolds: resume an entity's fold from its last version before the new events.

In the common case events arrive roughly in time order and an entity already has a long history
(daily heartbeats, evaluations): re-reading all of it for every batch would make ingest slower the
longer the system runs. The version valid just before the earliest new event holds the complete
state at that instant, so folding the events from that instant on, starting from it, gives exactly
what a full fold gives.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg

from trustline.shared.events.schemas import KEY_SEP

from .domains import StateTable
from .folds.core import StoredEvent, values, versions
from .loading import Fresh, fetch_events

Step = Callable[[Any, StoredEvent], Any]


async def resume_fold(
    conn: asyncpg.Connection,
    domain: str,
    table: StateTable,
    state_type: type,
    step: Step,
    cutoffs: dict[str, datetime],
    fresh: Fresh,
) -> None:
    """Refold each key from its earliest new event (`cutoffs`), replacing only the versions from there on."""
    keys = sorted(cutoffs)
    times = [cutoffs[k] for k in keys]
    parts = [k.split(KEY_SEP) for k in keys]
    width = len(table.key_columns)
    starts, later = await _starting_rows(conn, table, parts, times)
    events = await _events_since(conn, domain, keys, times, fresh)
    records: list[tuple[Any, ...]] = []
    closes: list[tuple[Any, ...]] = []  # (key parts..., valid_from of the start row, its new valid_to)
    for key, part in zip(keys, parts, strict=True):
        start = starts.get(key)
        initial = state_type(*start[width + 2 :]) if start is not None else None
        new = versions(events.get(key, []), step, initial)
        records.extend((*part, v.valid_from, v.valid_to, *values(v.state)) for v in new)
        if start is not None:
            closes.append((*part, start[width], new[0].valid_from if new else None))
    # Only entities with versions from their cutoff on need any deleted (none, when events come in order).
    redo = [i for i, key in enumerate(keys) if key in later]
    await _replace_from(conn, table, [parts[i] for i in redo], [times[i] for i in redo], closes, records)


def _key_join(table: StateTable, first_param: int) -> tuple[str, str]:
    cols = table.key_columns
    arrays = ", ".join(f"${first_param + i}::text[]" for i in range(len(cols)))
    match = " AND ".join(f"t.{c} = k.{c}" for c in cols)
    return (
        f"unnest({arrays}, ${first_param + len(cols)}::timestamptz[]) AS k({', '.join(cols)}, cutoff)",
        match,
    )


async def _starting_rows(
    conn: asyncpg.Connection, table: StateTable, parts: list[list[str]], times: list[datetime]
) -> tuple[dict[str, tuple[Any, ...]], set[str]]:
    """Per key, the version valid just before its cutoff; and the keys with versions from the cutoff on."""
    # One backward probe of the (key..., valid_from) primary key per entity, not a sort of its history.
    source, _ = _key_join(table, 1)
    width = len(table.key_columns)
    match = " AND ".join(f"{{a}}.{c} = k.{c}" for c in table.key_columns)
    rows = await conn.fetch(
        f"SELECT {', '.join(f'k.{c}' for c in table.key_columns)}, "
        f"EXISTS (SELECT FROM {table.name} l WHERE {match.format(a='l')} AND l.valid_from >= k.cutoff), s.* "
        f"FROM {source} LEFT JOIN LATERAL (SELECT {', '.join(table.columns)} FROM {table.name} t "
        f"WHERE {match.format(a='t')} AND t.valid_from < k.cutoff "
        "ORDER BY t.valid_from DESC LIMIT 1) s ON true",
        *_arrays(parts, width),
        times,
    )
    starts = {KEY_SEP.join(r[:width]): tuple(r[width + 1 :]) for r in rows if r[width + 1] is not None}
    return starts, {KEY_SEP.join(r[:width]) for r in rows if r[width]}


async def _events_since(
    conn: asyncpg.Connection, domain: str, keys: list[str], times: list[datetime], fresh: Fresh
) -> dict[str, list[StoredEvent]]:
    return await fetch_events(
        conn,
        "SELECT r.key, r.time, r.source, r.id, r.type, {data} FROM raw_events r "
        "JOIN unnest($2::text[], $3::timestamptz[]) AS k(key, cutoff) ON r.key = k.key "
        "WHERE r.domain = $1 AND r.time >= k.cutoff AND r.time >= $4",  # $4: skip older partitions
        domain,
        keys,
        times,
        min(times),
        fresh=fresh,
    )


async def _replace_from(
    conn: asyncpg.Connection,
    table: StateTable,
    parts: list[list[str]],
    times: list[datetime],
    closes: list[tuple[Any, ...]],
    records: list[tuple[Any, ...]],
) -> None:
    width = len(table.key_columns)
    source, match = _key_join(table, 1)
    if parts:
        await conn.execute(
            f"DELETE FROM {table.name} t USING {source} WHERE {match} AND t.valid_from >= k.cutoff",
            *_arrays(parts, width),
            times,
        )
    if closes:
        cols = table.key_columns
        arrays = [[c[i] for c in closes] for i in range(width)]
        match_c = " AND ".join(f"t.{c} = u.{c}" for c in cols)
        unnest = ", ".join(f"${i + 1}::text[]" for i in range(width))
        await conn.execute(
            f"UPDATE {table.name} t SET valid_to = u.valid_to "
            f"FROM unnest({unnest}, ${width + 1}::timestamptz[], ${width + 2}::timestamptz[]) "
            f"AS u({', '.join(cols)}, valid_from, valid_to) "
            f"WHERE {match_c} AND t.valid_from = u.valid_from",
            *arrays,
            [c[width] for c in closes],
            [c[width + 1] for c in closes],
        )
    await conn.copy_records_to_table(table.name, records=records, columns=table.columns)


def _arrays(parts: list[list[str]], width: int) -> list[list[str]]:
    return [[p[i] for p in parts] for i in range(width)]
