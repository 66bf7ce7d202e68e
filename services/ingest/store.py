"""Set-based writes: a batch of events becomes raw rows and refolded state in one transaction."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from trustline.shared.events import Event
from trustline.shared.events.schemas import KEY_SEP

from .domains import DOMAINS, Domain, StateTable
from .folds.core import StoredEvent
from .loading import Fresh, fetch_events
from .raw import insert_new
from .resume import resume_fold


@dataclass(frozen=True, slots=True)
class StoreResult:
    """Per topic, how many events were new and how many had been stored before."""

    stored: Counter[str]
    duplicates: Counter[str]


async def store_events(conn: asyncpg.Connection, events: Sequence[Event]) -> StoreResult:
    """Insert new events (idempotent on (source, id)) and refold the state they touch.

    Must run inside the caller's transaction: raw rows and state commit together or not at all.
    """
    if not events:
        return StoreResult(Counter(), Counter())
    new = await insert_new(conn, events)
    # Per entity, the earliest new event: state before it stands; from it on, the state is refolded.
    touched: dict[str, dict[str, datetime]] = defaultdict(dict)
    for ev in new:
        domain, key = ev.domain_key
        keys = touched[domain]
        keys[key] = min(ev.time, keys.get(key, ev.time))
    fresh = {(ev.source, ev.id): ev for ev in new}
    for domain, cutoffs in sorted(touched.items()):
        spec = DOMAINS[domain]
        await _lock(conn, domain, sorted(cutoffs))
        if spec.resume is not None:
            table = spec.tables[0]
            await resume_fold(conn, domain, table, spec.resume.state_type, spec.resume.step, cutoffs, fresh)
        else:
            await _refold_locked(conn, domain, sorted(cutoffs), fresh)
    stored = Counter(ev.topic for ev in new)
    return StoreResult(stored=stored, duplicates=Counter(ev.topic for ev in events) - stored)


async def _lock(conn: asyncpg.Connection, domain: str, keys: list[str]) -> None:
    # Two transactions refolding one entity would each miss the other's new events: serialise them
    # per entity (keys sorted, so concurrent batches cannot deadlock).
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(30) || k, 0)) FROM unnest($2::text[]) AS k",
        domain,
        keys,
    )


async def refold(conn: asyncpg.Connection, domain: str, keys: list[str]) -> None:
    """Replace the state of `keys` with the fold of all their stored events (inside a transaction)."""
    await _lock(conn, domain, sorted(keys))
    await _refold_locked(conn, domain, keys, {})


async def _refold_locked(conn: asyncpg.Connection, domain: str, keys: list[str], fresh: Fresh) -> None:
    spec: Domain = DOMAINS[domain]
    by_key = await _load(conn, domain, keys, fresh)
    parts = [key.split(KEY_SEP) for key in keys]
    folded = [spec.fold(part, by_key.get(key, [])) for key, part in zip(keys, parts, strict=True)]
    for i, table in enumerate(spec.tables):
        await _delete(conn, table, parts)
        records = [row for rows in folded for row in rows[i]]
        await conn.copy_records_to_table(table.name, records=records, columns=table.columns)


async def _load(
    conn: asyncpg.Connection, domain: str, keys: list[str], fresh: Fresh
) -> dict[str, list[StoredEvent]]:
    return await fetch_events(
        conn,
        "SELECT r.key, r.time, r.source, r.id, r.type, {data} FROM raw_events r "
        "WHERE r.domain = $1 AND r.key = ANY($2::text[])",
        domain,
        keys,
        fresh=fresh,
    )


async def _delete(conn: asyncpg.Connection, table: StateTable, parts: list[list[str]]) -> None:
    cols = table.key_columns
    arrays = [[p[i] for p in parts] for i in range(len(cols))]
    unnest = ", ".join(f"${i + 1}::text[]" for i in range(len(cols)))
    match = " AND ".join(f"t.{c} = k.{c}" for c in cols)
    await conn.execute(
        f"DELETE FROM {table.name} t USING unnest({unnest}) AS k({', '.join(cols)}) WHERE {match}", *arrays
    )
