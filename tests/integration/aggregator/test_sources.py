"""Feed freshness per source under the `source` cap: the most recently active sources keep their series,
the rest fold into `other` (their newest timestamp), and the aggregator reports how many it folded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from prometheus_client import REGISTRY

from tests.conftest import eventually
from tests.helpers import names_with, sample
from tests.scenario import D, H, T, ev, load, snapshot
from trustline.aggregator.loop import Aggregator
from trustline.shared.metrics.store import samples_at
from trustline.shared.policy import Policy
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
FRESHNESS = "trustline_source_last_event_timestamp_seconds"
FOLDED = "trustline_aggregation_label_values_folded"


def seen(source: str, at: datetime) -> dict[str, object]:
    return ev("asset.observed", at, source=source, asset_id=f"{source}-host")


async def test_sources_beyond_the_cap_fold_into_other(clean: Settings, db: asyncpg.Connection) -> None:
    await load(db, [
        seen("s1", T - H), seen("s1", T - 5 * H),      # newest: T-1h
        seen("s2", T - 2 * H),
        seen("s3", T - 3 * D),
        seen("s4", T - 2 * D), seen("s4", T + H),      # after T: its newest at T is T-2d
        seen("s5", T - 10 * D),
        seen("s6", T - 30 * D),
        seen("s7", T + 2 * H),                         # nothing at or before T: no series at all
    ])  # fmt: skip
    m = await snapshot(db, max_sources=4)
    # Six sources at T, cap 4: the three newest keep their series (s1 T-1h, s2 T-2h, s4 T-2d); s3 (T-3d),
    # s5 and s6 fold into `other`, which keeps the newest of them, s3's T-3d.
    assert {lbl["source"] for lbl in names_with(m, FRESHNESS)} == {"s1", "s2", "s4", "other"}
    assert sample(m, FRESHNESS, source="s1") == (T - H).timestamp()
    assert sample(m, FRESHNESS, source="s4") == (T - 2 * D).timestamp()
    assert sample(m, FRESHNESS, source="other") == (T - 3 * D).timestamp()
    # Under the default cap (100) nothing folds.
    assert len(names_with(await snapshot(db), FRESHNESS)) == 6


async def test_the_leader_exports_how_many_label_values_it_folded(
    clean: Settings, db: asyncpg.Connection
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    # 150 sources, feed-i last heard of i + 1 minutes ago (its asset in the `unassigned` unit).
    await load(db, [seen(f"feed-{i:03}", now - timedelta(minutes=i + 1)) for i in range(150)])
    settings = clean.model_copy(update={"aggregation_interval_seconds": 0.1})  # caps: 50 units, 100 sources
    stop = asyncio.Event()
    task = asyncio.create_task(Aggregator(settings, Policy(), writer="capped").run(stop))

    def folded(label: str) -> float | None:
        return REGISTRY.get_sample_value(FOLDED, {"label": label})

    try:
        await eventually(lambda: asyncio.sleep(0, folded("source") is not None))
        # 150 sources, cap 100: 99 keep a series, 51 fold. One business unit under a cap of 50: none.
        assert (folded("source"), folded("business_unit")) == (51, 0)
        at = await db.fetchval("SELECT max(at) FROM snapshots WHERE writer = 'capped'")
        stored = {s.labels["source"]: s.value for s in await samples_at(db, at) if s.name == FRESHNESS}
        # The 99 most recent (feed-000 .. feed-098) and `other`, holding the newest folded one: feed-099's,
        # 100 minutes before now.
        assert set(stored) == {f"feed-{i:03}" for i in range(99)} | {"other"}
        assert stored["other"] == (now - timedelta(minutes=100)).timestamp()
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    # No longer leading: the process stops reporting a figure only the leader knows.
    assert folded("source") is None and folded("business_unit") is None
