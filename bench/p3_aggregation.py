"""P3: the cost of one full snapshot against a sequential scan of the same state tables, at three sizes.

Run with `make bench-p3` (or `.venv/bin/python bench/p3_aggregation.py [--fractions 0.1,0.3,1.0]`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, private_stack, record  # noqa: E402
from p3_data import Sizes, generate  # noqa: E402

from trustline.ingest.domains import DOMAINS  # noqa: E402
from trustline.shared.metrics.snapshot import compute_snapshot  # noqa: E402
from trustline.shared.policy import Policy  # noqa: E402

REPEATS = 5
TABLES = [t.name for d in DOMAINS.values() for t in d.tables]


async def _median_seconds(action: object, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        await action()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def _scan_all(conn: asyncpg.Connection) -> None:
    for table in TABLES:
        await conn.fetchval(f"SELECT count(*) FROM {table}")


async def measure(dsn: str, fraction: float) -> dict[str, object]:
    """Generate one size, then time the snapshot and the reference scan on it."""
    conn = await asyncpg.connect(dsn)
    try:
        now = datetime.now(UTC)
        started = time.perf_counter()
        print(f"  generating {fraction:.0%} of the P3 data set ...", flush=True)
        rows = await generate(conn, Sizes.fraction(fraction), now)
        print(f"  {sum(rows.values()):,} rows in {time.perf_counter() - started:.0f}s; timing", flush=True)
        # The reference: a plain sequential scan of every state table (no index may answer the count).
        await conn.execute(
            "SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off"
        )
        scan = await _median_seconds(lambda: _scan_all(conn))
        await conn.execute("RESET enable_indexscan; RESET enable_indexonlyscan; RESET enable_bitmapscan")
        snapshot = await _median_seconds(
            lambda: compute_snapshot(conn, at=now, policy=Policy(), max_business_units=50)
        )
        return {
            "fraction": fraction,
            "rows": rows,
            "snapshot_s": snapshot,
            "scan_s": scan,
            "ratio": snapshot / scan,
        }
    finally:
        await conn.close()


async def run_all(dsn: str, fractions: list[float]) -> tuple[str, list[dict[str, object]]]:
    conn = await asyncpg.connect(dsn)
    version = str(await conn.fetchval("SHOW server_version"))
    await conn.close()
    return version, [await measure(dsn, f) for f in fractions]


def main(fractions: list[float]) -> None:
    with private_stack() as settings:
        # Generating the data TRUNCATEs state tables: the schema owner's right, not the services'.
        version, results = asyncio.run(run_all(settings.migration_asyncpg_dsn(), fractions))
    facts = machine(version)
    print(f"\nP3 aggregation cost ({facts['cores']} cores, PostgreSQL {version}; median of {REPEATS})")
    print(f"{'size':>6} {'rows':>11} {'snapshot s':>11} {'scan s':>8} {'ratio':>6}  goal <= 4x")
    for r in results:
        total = sum(r["rows"].values())  # type: ignore[attr-defined]
        line = f"{r['fraction']:>6.0%} {total:>11,} {r['snapshot_s']:>11.3f} {r['scan_s']:>8.3f}"
        print(f"{line} {r['ratio']:>5.2f}x")
    record(
        "P3",
        {"machine": facts, "goal": "snapshot <= 4 x sequential scan of the state tables", "runs": results},
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fractions", default="0.1,0.3,1.0", help="sizes as fractions of the full P3 set")
    args = parser.parse_args()
    main([float(x) for x in args.fractions.split(",")])
