"""The known-exploited catalog stored as versions: an import at S changes the catalog from S on only.

For each entry, the version valid at S is compared with the imported one: equal, nothing is written (a
replay writes nothing); different or absent, the version valid at S is closed at S (or replaced, when it
starts at S) and the imported one holds from S until the next version already stored, if any. Entries an
import does not list are left as they are: CISA's catalog only grows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import asyncpg

from trustline.shared.sql import Query, execute, fetch

from .kev import Entry

# Catalog imports run one at a time (two at once could both close the same version).
_LOCK: Final = Query("SELECT pg_advisory_xact_lock(hashtext('trustline.kev_catalog'))")
_AT_AND_AFTER: Final = Query("""
SELECT vulnerability_id, valid_from, valid_to, date_added, due_date
FROM kev_catalog_versions
WHERE vulnerability_id = ANY(:ids::text[]) AND (valid_to IS NULL OR valid_to > :at)
ORDER BY vulnerability_id, valid_from
""")
_CLOSE: Final = Query("""
UPDATE kev_catalog_versions SET valid_to = :at
WHERE vulnerability_id = ANY(:ids::text[]) AND valid_from < :at AND (valid_to IS NULL OR valid_to > :at)
""")
_DROP_AT: Final = Query(
    "DELETE FROM kev_catalog_versions WHERE vulnerability_id = ANY(:ids::text[]) AND valid_from = :at"
)
_INSERT: Final = Query("""
INSERT INTO kev_catalog_versions (vulnerability_id, valid_from, valid_to, date_added, due_date)
SELECT i.id, :at, i.until, i.added, i.due
FROM unnest(:ids::text[], :untils::timestamptz[], :added::date[], :due::date[]) AS i(id, until, added, due)
""")


@dataclass(frozen=True, slots=True)
class Stored:
    """What a catalog import changed: entries new as of S, entries whose dates changed, the rest."""

    added: int
    updated: int
    unchanged: int


async def store_catalog(conn: asyncpg.Connection, entries: list[Entry], *, at: datetime) -> Stored:
    """Write the catalog as of `at` in one transaction (see the module's docstring)."""
    async with conn.transaction():
        await execute(conn, _LOCK)
        rows = await fetch(conn, _AT_AND_AFTER, ids=[e.cve_id for e in entries], at=at)
        current = {r["vulnerability_id"]: r for r in rows if r["valid_from"] <= at}
        later = {r["vulnerability_id"]: r["valid_from"] for r in reversed(rows) if r["valid_from"] > at}
        changed = [
            e
            for e in entries
            if (c := current.get(e.cve_id)) is None
            or (c["date_added"], c["due_date"]) != (e.date_added, e.due_date)
        ]
        ids = [e.cve_id for e in changed]
        await execute(conn, _CLOSE, ids=ids, at=at)
        await execute(conn, _DROP_AT, ids=ids, at=at)
        untils = [current[i]["valid_to"] if i in current else later.get(i) for i in ids]
        await execute(
            conn,
            _INSERT,
            ids=ids,
            at=at,
            untils=untils,
            added=[e.date_added for e in changed],
            due=[e.due_date for e in changed],
        )
    updated = sum(1 for i in ids if i in current)
    return Stored(added=len(ids) - updated, updated=updated, unchanged=len(entries) - len(ids))
