"""raw_events is partitioned by month of event time; (source, id) still stores an event once, whatever
time a re-delivery carries (the first stored version wins); migration 0004 moves existing rows."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from alembic import command

from tests.conftest import eventually
from tests.scenario import D, T, decode, ev, load
from trustline.ingest.store import store_events
from trustline.shared.migrations import alembic_config, upgrade
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration


async def _partitions(db: asyncpg.Connection) -> dict[str, int]:
    rows = await db.fetch("SELECT tableoid::regclass::text AS part, count(*) AS n FROM raw_events GROUP BY 1")
    return {r["part"]: r["n"] for r in rows}


async def test_a_redelivery_with_another_time_is_stored_once_and_the_first_wins(
    clean: Settings, db: asyncpg.Connection
) -> None:
    # T is 2026-10-01 12:00 UTC: T - 40 d is 2026-08-22, T - 2 d is 2026-09-29 (another partition).
    first = ev("asset.observed", T - 40 * D, "cmdb", "a-1", asset_id="h1", business_unit="retail")
    again = ev("asset.observed", T - 2 * D, "cmdb", "a-1", asset_id="h1", business_unit="payments")
    await load(db, [first])
    await load(db, [again])
    # Within one batch, the first delivery in arrival order is the one stored.
    one = ev("edr.heartbeat", T - 3 * D, "edr", "b-1", asset_id="h1")
    other = ev("edr.heartbeat", T - 33 * D, "edr", "b-1", asset_id="h1")
    await load(db, [one, other, one])

    rows = await db.fetch("SELECT source, id, time, data->>'business_unit' AS bu FROM raw_events ORDER BY 1")
    assert [tuple(r) for r in rows] == [
        ("cmdb", "a-1", T - 40 * D, "retail"),
        ("edr", "b-1", T - 3 * D, None),
    ]
    keys = await db.fetch("SELECT source, id, time FROM raw_event_keys ORDER BY 1")
    assert [tuple(r) for r in keys] == [("cmdb", "a-1", T - 40 * D), ("edr", "b-1", T - 3 * D)]
    # State folds the stored version only: one asset version from T - 40 d, still in retail.
    assets = await db.fetch("SELECT valid_from, business_unit FROM asset_versions")
    assert [tuple(r) for r in assets] == [(T - 40 * D, "retail")]
    edr = await db.fetch("SELECT valid_from, last_healthy_at FROM edr_versions")
    assert [tuple(r) for r in edr] == [(T - 3 * D, T - 3 * D)]
    assert await _partitions(db) == {"raw_events_p202608": 1, "raw_events_p202609": 1}


async def test_concurrent_deliveries_with_different_times_are_stored_once(
    clean: Settings, db: asyncpg.Connection
) -> None:
    # Two workers hold the same (source, id) with times in different months, in overlapping transactions:
    # the second waits on the first one's key and, once it commits, skips the event.
    first = decode([ev("edr.heartbeat", T - 40 * D, "edr", "c-1", asset_id="h1")])
    again = decode([ev("edr.heartbeat", T - 2 * D, "edr", "c-1", asset_id="h1")])
    other = await asyncpg.connect(clean.asyncpg_dsn())
    try:
        tx = db.transaction()
        await tx.start()
        await store_events(db, first)

        async def second() -> int:
            async with other.transaction():
                return sum((await store_events(other, again)).stored.values())

        late = asyncio.create_task(second())
        pid = other.get_server_pid()

        async def blocked() -> bool:
            await db.execute("SELECT pg_stat_clear_snapshot()")  # db is inside a transaction: look afresh
            state = "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1"
            return bool(await db.fetchval(state, pid) == "Lock")

        await eventually(blocked)  # waiting for the first transaction's key
        assert not late.done()
        await tx.commit()
        assert await late == 0
    finally:
        await other.close()
    rows = await db.fetch("SELECT time FROM raw_events")
    assert [r["time"] for r in rows] == [T - 40 * D]


async def test_each_month_gets_its_partition_and_the_default_stays_empty(
    clean: Settings, db: asyncpg.Connection
) -> None:
    # T - 1 d = 2026-09-30 (September), T = 2026-10-01 12:00 (October), T - 70 d = 2026-07-23 and
    # T - 69 d = 2026-07-24 (both July).
    times = [T - D, T, T - 70 * D, T - 70 * D + D]
    await load(db, [ev("asset.observed", at, asset_id=f"h{i}") for i, at in enumerate(times)])
    assert await _partitions(db) == {
        "raw_events_p202609": 1,
        "raw_events_p202610": 1,
        "raw_events_p202607": 2,
    }
    default = "SELECT count(*) FROM raw_events WHERE tableoid = 'raw_events_default'::regclass"
    assert await db.fetchval(default) == 0


async def test_a_second_batch_in_the_same_transaction_still_folds_the_first_ones_events(
    clean: Settings, db: asyncpg.Connection
) -> None:
    # Folds take the payloads of the rows their own batch wrote from memory; rows an earlier batch of
    # the same transaction wrote look just like them in the table and must be read in full.
    async with db.transaction():
        await store_events(
            db, decode([ev("asset.observed", T - 2 * D, asset_id="h1", business_unit="retail")])
        )
        await store_events(db, decode([ev("asset.observed", T - 3 * D, asset_id="h1", business_unit="data")]))
    # The older observation holds from T - 3 d until the newer one at T - 2 d, which holds from then on.
    rows = await db.fetch("SELECT valid_from, valid_to, business_unit FROM asset_versions ORDER BY 1")
    assert [tuple(r) for r in rows] == [(T - 3 * D, T - 2 * D, "data"), (T - 2 * D, None, "retail")]


async def test_migration_0004_moves_existing_rows_into_month_partitions(
    clean: Settings, db: asyncpg.Connection, owner_db: asyncpg.Connection
) -> None:
    cfg = alembic_config(clean)
    await asyncio.to_thread(command.downgrade, cfg, "0003")
    try:
        await owner_db.execute(
            "INSERT INTO raw_events (source, id, type, topic, domain, key, time, data) VALUES "
            "('s', '1', 'asset.observed', 't', 'asset', 'h1', '2026-01-31T23:59:59Z', '{}'), "
            "('s', '2', 'asset.observed', 't', 'asset', 'h1', '2026-02-01T00:00:00Z', '{}'), "
            "('s', '3', 'asset.observed', 't', 'asset', 'h2', '2026-02-15T08:00:00Z', '{}')"
        )
    finally:
        await asyncio.to_thread(upgrade, clean)
    # 23:59:59 on 31 January is January's; midnight on 1 February opens February.
    assert await _partitions(db) == {"raw_events_p202601": 1, "raw_events_p202602": 2}
    assert await db.fetchval("SELECT count(*) FROM raw_event_keys") == 3
    assert await db.fetchval("SELECT to_regclass('raw_events_unpartitioned')") is None
