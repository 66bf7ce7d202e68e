"""P6: a year of daily snapshots by `trustline backfill`, against P3's single snapshot on the same data.

Run with `make bench-p6` (or `.venv/bin/python bench/p6_backfill.py [--fraction 0.1] [--days 365]`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, private_stack, record  # noqa: E402
from p3_data import Sizes, generate  # noqa: E402

from trustline.aggregator.backfill import backfill  # noqa: E402
from trustline.shared.metrics.snapshot import snapshot_once  # noqa: E402
from trustline.shared.policy import Policy  # noqa: E402
from trustline.shared.settings import Settings  # noqa: E402

REPEATS = 3


async def _measure(settings: Settings, fraction: float, days: int) -> dict[str, object]:
    # Generating the data TRUNCATEs state tables: the schema owner's right, not the services'.
    conn = await asyncpg.connect(settings.migration_asyncpg_dsn())
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        print(f"  generating {fraction:.0%} of the P3 data set ...", flush=True)
        rows = await generate(conn, Sizes.fraction(fraction), now)
        single = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            await snapshot_once(conn, at=now, policy=Policy(), max_business_units=50, writer="bench")
            single.append(time.perf_counter() - started)
        version = str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()
    started = time.perf_counter()
    written = await backfill(
        settings,
        Policy(),
        start=now - timedelta(days=days),
        end=now,
        step=timedelta(days=1),
        console=Console(),
    )
    seconds = time.perf_counter() - started
    reference = statistics.median(single)
    return {
        "version": version,
        "rows": sum(rows.values()),
        "snapshots": written,
        "backfill_s": seconds,
        "single_snapshot_s": reference,
        "ratio": seconds / reference,
    }


def main(fraction: float, days: int) -> None:
    with private_stack() as settings:
        r = asyncio.run(_measure(settings, fraction, days))
    facts = machine(str(r.pop("version")))
    print(f"\nP6 backfill ({facts['cores']} cores, PostgreSQL {facts['postgres']}; {r['rows']:,} state rows)")
    print(f"{r['snapshots']} daily snapshots in {r['backfill_s']:.1f}s; one snapshot (P3, median of "
          f"{REPEATS}) {r['single_snapshot_s']:.3f}s; ratio {r['ratio']:.0f}x (goal <= 400x)")  # fmt: skip
    record("P6", {"machine": facts, "goal": "<= 400 x one snapshot", "fraction": fraction, **r})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fraction", type=float, default=0.1, help="size as a fraction of the full P3 set")
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    main(args.fraction, args.days)
