"""The one refold path: every domain resumes each entity's fold from the rows valid just before its
earliest new event (folds/protocol.py says why that equals a full fold).

In the common case events arrive roughly in time order and an entity already has a long history (daily
heartbeats, evaluations): re-reading all of it for every batch would make ingest slower the longer the
system runs, and would keep every raw event needed for ever. Per domain and batch, each table costs one
read of the starting rows and, set-based, at most one delete, one update and one COPY; the events from
the cutoffs on are read once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache

import asyncpg

from trustline.shared.events.schemas import KEY_SEP
from trustline.shared.sql import Query, execute, fetch

from .domains import DOMAINS
from .folds.core import StoredEvent
from .folds.protocol import BEGINNING, Row, Start, TableFold, Written
from .loading import EventsQuery, Fresh, fetch_events
from .tables import StateTable, by_column, unnest

# Two transactions refolding one entity would each miss the other's new events: serialise them per
# entity (keys sorted, so concurrent batches cannot deadlock).
_LOCK = Query(
    "SELECT pg_advisory_xact_lock(hashtextextended(:domain || chr(30) || k, 0)) "
    "FROM unnest(:keys::text[]) AS k"
)
_EVENTS_SINCE = EventsQuery(
    "SELECT r.key, r.time, r.source, r.id, r.type, {data} FROM raw_events r "
    "JOIN unnest(:keys::text[], :cutoffs::timestamptz[]) AS k(key, cutoff) ON r.key = k.key "
    # :earliest lets the planner skip the partitions before every cutoff
    "WHERE r.domain = :domain AND r.time >= k.cutoff AND r.time >= :earliest"
)
_NONE: list[StoredEvent] = []


async def resume(
    conn: asyncpg.Connection, domain: str, cutoffs: Mapping[str, datetime], fresh: Fresh
) -> None:
    """Refold each entity (key) of `domain` from its cutoff on (inside the caller's transaction).

    `fresh` holds the payloads of the events this transaction stored, by (source, id).
    """
    keys = sorted(cutoffs)
    times = [cutoffs[k] for k in keys]
    entities = [tuple(k.split(KEY_SEP)) for k in keys]  # the key columns' values
    await execute(conn, _LOCK, domain=domain, keys=keys)
    folds = DOMAINS[domain].folds
    starts = [await _starting_rows(conn, fold, entities, times) for fold in folds]
    events = await fetch_events(
        conn, _EVENTS_SINCE, fresh=fresh, domain=domain, keys=keys, cutoffs=times, earliest=min(times)
    )
    for fold, (rows, later) in zip(folds, starts, strict=True):
        written = Written()
        for i, (key, entity, cutoff) in enumerate(zip(keys, entities, times, strict=True)):
            fold.resume(entity, rows.get(i, ()), cutoff, events.get(key, _NONE), written)
        await _write(conn, fold.table, entities, times, later, written)


async def refold(conn: asyncpg.Connection, domain: str, keys: list[str]) -> None:
    """Replace the state of `keys` with the fold of all their stored events (inside a transaction)."""
    await resume(conn, domain, dict.fromkeys(keys, BEGINNING), {})


async def _starting_rows(
    conn: asyncpg.Connection, fold: TableFold, entities: list[tuple[str, ...]], times: list[datetime]
) -> tuple[dict[int, list[Row]], set[int]]:
    """Per entity (by position), the rows the fold resumes from; and the entities with rows from their
    cutoff on."""
    table = fold.table
    got = await fetch(
        conn, _start_query(table, fold.start), **by_column(table.key_columns, entities), cutoff=times
    )
    rows: dict[int, list[Row]] = {}
    for r in got:
        if r["valid_from"] is not None:  # else no row before the cutoff (the outer join's NULLs)
            rows.setdefault(r["resume_entity"] - 1, []).append(r)
    return rows, {r["resume_entity"] - 1 for r in got if r["resume_later"]}


async def _write(
    conn: asyncpg.Connection,
    table: StateTable,
    entities: list[tuple[str, ...]],
    times: list[datetime],
    later: set[int],
    written: Written,
) -> None:
    """Apply what the folds wrote: delete what they replace, close their starting rows, add the new rows."""
    key, part = table.key_columns, table.part_columns
    # Entities with versions from their cutoff on (none, when events come in order), or parts written again.
    gone = [(*entities[i], times[i], *(None,) * len(part)) for i in sorted(later)]
    if written.replaced:
        cutoffs = dict(zip(entities, times, strict=True))
        gone += [(*r[: len(key)], cutoffs[r[: len(key)]], *r[len(key) :]) for r in written.replaced]
    if gone:
        await execute(conn, _delete_query(table), **by_column((*key, "cutoff", *part), gone))
    if written.closes:
        names = (*key, *part, "valid_from", "valid_to")
        await execute(conn, _close_query(table), **by_column(names, written.closes))
    await conn.copy_records_to_table(table.name, records=written.rows, columns=table.columns)


_CUTOFF = {"cutoff": "valid_from"}  # each entity's cutoff is typed as the versions' times


@cache
def _start_query(table: StateTable, start: Start) -> Query:
    """Per entity (resume_entity: its position, from 1), the starting rows `start` selects (NULLs when
    there are none) and whether it has rows from its cutoff on (resume_later)."""
    t, key, part = table.name, table.key_columns, table.part_columns
    match = " AND ".join(f"{{a}}.{c} = k.{c}" for c in key)
    before = f"{match.format(a='t')} AND t.valid_from < k.cutoff"
    columns = _cols("t", table.columns)
    if start is Start.LATEST_PART:
        latest = (
            f"SELECT {_cols('l', part)} FROM {t} l WHERE {match.format(a='l')} AND l.valid_from < k.cutoff "
            f"ORDER BY {_cols('l', part, ' DESC')} LIMIT 1"  # parts are numbered in time order
        )
        rows = f"SELECT {columns} FROM {t} t WHERE {before} AND ({_cols('t', part)}) = ({latest})"
    elif part:
        rows = (
            f"SELECT DISTINCT ON ({_cols('t', part)}) {columns} FROM {t} t WHERE {before} "
            f"ORDER BY {_cols('t', part)}, t.valid_from DESC"
        )
    else:  # one backward probe of the (key..., valid_from) primary key, not a sort of the history
        rows = f"SELECT {columns} FROM {t} t WHERE {before} ORDER BY t.valid_from DESC LIMIT 1"
    entities = unnest(table.table, (*key, "cutoff"), "k", like=_CUTOFF, ordinality="resume_entity")
    return Query(
        f"SELECT k.resume_entity, EXISTS (SELECT FROM {t} l WHERE {match.format(a='l')} "
        f"AND l.valid_from >= k.cutoff) AS resume_later, s.* "
        f"FROM {entities} LEFT JOIN LATERAL ({rows}) s ON true"
    )


@cache
def _delete_query(table: StateTable) -> Query:
    """Delete each entity's rows from its cutoff on, and those of the parts written again whole."""
    key, part = table.key_columns, table.part_columns
    match = " AND ".join(f"t.{c} = k.{c}" for c in key)
    replaced = f" OR ({_cols('t', part)}) = ({_cols('k', part)})" if part else ""
    return Query(
        f"DELETE FROM {table.name} t USING {unnest(table.table, (*key, 'cutoff', *part), 'k', like=_CUTOFF)} "
        f"WHERE {match} AND (t.valid_from >= k.cutoff{replaced})"
    )


@cache
def _close_query(table: StateTable) -> Query:
    """Set the valid_to of rows named by key, part and valid_from."""
    names = (*table.key_columns, *table.part_columns, "valid_from")
    match = " AND ".join(f"t.{c} = u.{c}" for c in names)
    return Query(
        f"UPDATE {table.name} t SET valid_to = u.valid_to "
        f"FROM {unnest(table.table, (*names, 'valid_to'), 'u')} WHERE {match}"
    )


def _cols(alias: str, columns: Sequence[str], suffix: str = "") -> str:
    return ", ".join(f"{alias}.{c}{suffix}" for c in columns)
