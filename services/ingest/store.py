"""Set-based writes: a batch of events becomes raw rows and refolded state in one transaction."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from typing import Any

import asyncpg
import msgspec

from trustline.shared.events import Event
from trustline.shared.events.schemas import DATA_TYPES, KEY_SEP

from .fold import StoredEvent, fold_asset, fold_vulnerability

_RAW_COLUMNS = ("source", "id", "type", "topic", "domain", "key", "time", "subject", "data")
_ASSET_COLUMNS = (
    "asset_id",
    "valid_from",
    "valid_to",
    "hostname",
    "kind",
    "os_family",
    "business_unit",
    "environment",
    "edr_required",
    "retired",
)
_CYCLE_COLUMNS = (
    "asset_id",
    "vulnerability_id",
    "cycle",
    "detected_at",
    "remediated_at",
    "severity",
    "kev",
    "valid_from",
    "valid_to",
)
_encoder = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class StoreResult:
    """Per topic, how many events were new and how many had been stored before."""

    stored: Counter[str]
    duplicates: Counter[str]


def _raw_record(ev: Event) -> tuple[Any, ...]:
    domain, key = ev.domain_key
    data = _encoder.encode(ev.data).decode()
    return (ev.source, ev.id, ev.type, ev.topic, domain, key, ev.time, ev.subject, data)


async def store_events(conn: asyncpg.Connection, events: Sequence[Event]) -> StoreResult:
    """Insert new events (idempotent on (source, id)) and refold the state they touch.

    Must run inside the caller's transaction: raw rows and state commit together or not at all.
    """
    if not events:
        return StoreResult(Counter(), Counter())
    await conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS staging_events "
        "(LIKE raw_events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    await conn.copy_records_to_table("staging_events", records=map(_raw_record, events), columns=_RAW_COLUMNS)
    rows = await conn.fetch(
        f"INSERT INTO raw_events ({', '.join(_RAW_COLUMNS)}) "
        f"SELECT DISTINCT ON (source, id) {', '.join(_RAW_COLUMNS)} FROM staging_events "
        "ORDER BY source, id ON CONFLICT (source, id) DO NOTHING RETURNING topic, domain, key"
    )
    touched: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        touched[row["domain"]].add(row["key"])
    if keys := touched.get("asset"):
        await _refold_assets(conn, sorted(keys))
    if keys := touched.get("vulnerability"):
        await _refold_vulnerabilities(conn, sorted(keys))
    stored = Counter(row["topic"] for row in rows)
    return StoreResult(stored=stored, duplicates=Counter(ev.topic for ev in events) - stored)


async def _load(conn: asyncpg.Connection, domain: str, keys: list[str]) -> dict[str, list[StoredEvent]]:
    rows = await conn.fetch(
        "SELECT key, time, source, id, type, data::text AS data FROM raw_events "
        "WHERE domain = $1 AND key = ANY($2::text[])",
        domain,
        keys,
    )
    by_key: dict[str, list[StoredEvent]] = defaultdict(list)
    for r in rows:
        data = msgspec.json.decode(r["data"], type=DATA_TYPES[r["type"]])
        by_key[r["key"]].append(StoredEvent(r["time"], r["source"], r["id"], data))
    return by_key


async def _refold_assets(conn: asyncpg.Connection, keys: list[str]) -> None:
    by_key = await _load(conn, "asset", keys)
    await conn.execute("DELETE FROM asset_versions WHERE asset_id = ANY($1::text[])", keys)
    records = [astuple(v) for k in keys for v in fold_asset(k, by_key.get(k, ()))]
    await conn.copy_records_to_table("asset_versions", records=records, columns=_ASSET_COLUMNS)


async def _refold_vulnerabilities(conn: asyncpg.Connection, keys: list[str]) -> None:
    by_key = await _load(conn, "vulnerability", keys)
    pairs = [key.split(KEY_SEP, 1) for key in keys]
    await conn.execute(
        "DELETE FROM vuln_cycle_versions v USING unnest($1::text[], $2::text[]) AS k(a, b) "
        "WHERE v.asset_id = k.a AND v.vulnerability_id = k.b",
        [a for a, _ in pairs],
        [b for _, b in pairs],
    )
    records = [
        astuple(v)
        for key, (asset_id, vuln_id) in zip(keys, pairs, strict=True)
        for v in fold_vulnerability(asset_id, vuln_id, by_key.get(key, ()))
    ]
    await conn.copy_records_to_table("vuln_cycle_versions", records=records, columns=_CYCLE_COLUMNS)
