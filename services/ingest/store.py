"""Set-based writes: a batch of events becomes raw rows and refolded state in one transaction."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from trustline.shared.events import Event
from trustline.shared.metrics import changes

from .raw import insert_new
from .resume import resume


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
    fresh = {(ev.source, ev.id): ev.data for ev in new}
    for domain, cutoffs in sorted(touched.items()):
        await resume(conn, domain, cutoffs, fresh)
    # The live snapshot recomputes exactly these entities; recorded with the state they describe.
    await changes.record(conn, ((domain, key) for domain, keys in touched.items() for key in keys))
    stored = Counter(ev.topic for ev in new)
    return StoreResult(stored=stored, duplicates=Counter(ev.topic for ev in events) - stored)
