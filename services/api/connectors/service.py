"""Connector submissions: map a tool's document, add a full scan's closing events, publish all or none.

Every event is validated by the ingest decoder and the key's source patterns before anything is
published, and the answer waits for the broker's acknowledgement, exactly as for `POST /api/v1/events`.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import asyncpg

from trustline.shared.auth.keys import Principal
from trustline.shared.connectors import TOOLS, Options, Refusal
from trustline.shared.connectors.common import encode
from trustline.shared.connectors.documents import parse
from trustline.shared.connectors.fullscan import reconcile
from trustline.shared.connectors.kev import map_kev
from trustline.shared.connectors.kev_catalog import store_catalog
from trustline.shared.events import Decoder

from ..events import service as events
from .schemas import CatalogStored, ConnectorAccepted, RecordError


class DocumentRefused(Exception):
    """Some records of the document were refused: nothing was published or stored."""

    def __init__(self, status: int, errors: list[RecordError]) -> None:
        super().__init__(f"{len(errors)} record(s) refused")
        self.status, self.errors = status, errors


def _errors(refused: list[Refusal]) -> list[RecordError]:
    return [RecordError(record=r.record, reason=r.reason, detail=r.detail) for r in refused]


def _document(body: bytes) -> object:
    doc = parse(body)
    if isinstance(doc, Refusal):
        raise DocumentRefused(400, _errors([doc]))
    return doc


async def submit(
    conn: asyncpg.Connection,
    publisher: events.Publisher,
    decoder: Decoder,
    *,
    tool: str,
    body: bytes,
    opts: Options,
    who: Principal,
) -> ConnectorAccepted:
    """Map, reconcile (a full scan), validate and publish the document's events; all of them or none."""
    mapped = TOOLS[tool](_document(body), opts)
    if mapped.refused:
        raise DocumentRefused(400, _errors(mapped.refused))
    found = await reconcile(conn, mapped, opts)
    all_events = [*mapped.events, *found.events]
    values = [encode(e) for e in all_events]
    unencodable = [v for v in values if isinstance(v, Refusal)]
    if unencodable:
        raise DocumentRefused(400, _errors(unencodable))
    records: list[events.Record] = []
    if values:
        try:
            records = events.validate(
                decoder, [v for v in values if isinstance(v, bytes)], max_items=len(values)
            )
        except events.BatchRefused as exc:
            ids = [str(e.get("id")) for e in all_events]
            raise DocumentRefused(
                exc.status,
                [RecordError(record=ids[e.index], reason=e.reason, detail=e.detail) for e in exc.errors],
            ) from exc
        events.authorize(who, records)
        await publisher.publish(records, submitted_by=who.name)
    topics = Counter(r.topic for r in records)
    return ConnectorAccepted(
        accepted=len(records),
        closed=len(found.events),
        topics=dict(topics),
        ignored=dict(mapped.ignored),
        scan_at=mapped.at,
        full_scan=opts.scope,
        note=None if mapped.domain == "incident" else found.skipped or f"{len(found.events)} closed",
    )


async def store_kev(conn: asyncpg.Connection, *, body: bytes, at: datetime) -> CatalogStored:
    """Store the catalog as of `at`, or refuse it whole (400) when any entry is unusable."""
    catalog = map_kev(_document(body))
    if catalog.refused:
        raise DocumentRefused(400, _errors(catalog.refused))
    stored = await store_catalog(conn, catalog.entries, at=at)
    return CatalogStored(
        as_of=at,
        version=catalog.version,
        added=stored.added,
        updated=stored.updated,
        unchanged=stored.unchanged,
    )
