"""Which entities changed since the live snapshot last looked: ingest appends, the leader reads and deletes.

Ingest appends the (domain, key) of every entity a batch refolded, in the batch's own transaction, so a
change is visible exactly when the state it describes is. The leader reads the rows present (never "rows
after the last sequence value seen": sequence values commit out of order) inside the snapshot's read and,
once the snapshot is stored, deletes exactly those rows; a row committed meanwhile stays for the next one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import asyncpg

from trustline.shared.sql import Query, execute, fetch

_RECORD = Query(
    "INSERT INTO entity_changes (domain, key) SELECT * FROM unnest(:domains::text[], :keys::text[])"
)
_READ = Query("SELECT seq, domain, key FROM entity_changes")
_FORGET = Query("DELETE FROM entity_changes WHERE seq = ANY(:seqs::bigint[])")


@dataclass(frozen=True, slots=True)
class Changes:
    """The change rows read at one snapshot: their sequence numbers, and the keys touched per domain."""

    seqs: list[int] = field(default_factory=list)
    keys: dict[str, set[str]] = field(default_factory=dict)


async def record(conn: asyncpg.Connection, touched: Iterable[tuple[str, str]]) -> None:
    """Append the (domain, key) of each entity a batch refolded (inside the batch's transaction)."""
    pairs = sorted(set(touched))
    if pairs:
        await execute(conn, _RECORD, domains=[d for d, _ in pairs], keys=[k for _, k in pairs])


async def read(conn: asyncpg.Connection) -> Changes:
    """Every change row visible to the current transaction."""
    out = Changes()
    for r in await fetch(conn, _READ):
        out.seqs.append(r["seq"])
        out.keys.setdefault(r["domain"], set()).add(r["key"])
    return out


async def forget(conn: asyncpg.Connection, seqs: Sequence[int]) -> None:
    """Delete exactly the rows a stored snapshot processed."""
    if seqs:
        await execute(conn, _FORGET, seqs=list(seqs))
