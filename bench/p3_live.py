"""P3 live: the live snapshot after a trickle of changes, against a count(*) scan of the same state tables.

At each size: the P3 data set, the reference scan, the full as-of snapshot (what every snapshot cost
before), the live state's first pass (once per leader term), then rounds of `--changed` entities changed
through the real ingest path followed by one live snapshot 5 s later. Run with `make bench-p3-live`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, private_stack, record  # noqa: E402
from p3_aggregation import _median_seconds, _scan_all  # noqa: E402
from p3_data import FULL, Sizes, generate  # noqa: E402

from trustline.ingest.store import store_events  # noqa: E402
from trustline.shared.events import Decoder, Rejection  # noqa: E402
from trustline.shared.metrics import changes  # noqa: E402
from trustline.shared.metrics.live import LiveState, evaluate_live  # noqa: E402
from trustline.shared.metrics.snapshot import Caps, compute_snapshot, set_work_mem  # noqa: E402
from trustline.shared.policy import Policy  # noqa: E402

ROUNDS = 5
CAPS = Caps()
_DECODER = Decoder(
    topic_prefix="trustline", max_bytes=1 << 20, clock=lambda: datetime(2200, 1, 1, tzinfo=UTC)
)


def _trickle(rng: random.Random, sizes: Sizes, n: int, at: datetime, round_: int) -> list[Any]:
    """`n` events on `n` random existing entities of every domain, as a live feed sends them."""
    out = []
    for i in range(n):
        asset = f"a{rng.randrange(sizes.assets)}"
        kinds: list[tuple[str, str, dict[str, Any]]] = [
            ("vulnerabilities", "vulnerability.detected",
             {"asset_id": asset, "vulnerability_id": f"CVE-{rng.randrange(sizes.cycles)}",
              "severity": "high"}),
            ("edr", "edr.heartbeat", {"asset_id": asset}),
            ("assets", "asset.observed", {"asset_id": asset, "business_unit": "bu-01", "kind": "server"}),
            ("identities", "identity.observed", {"user_id": f"u{rng.randrange(sizes.identities)}"}),
            ("cloudconfig", "cloud.evaluated",
             {"resource_id": f"r{rng.randrange(sizes.checks // 20)}", "control_id": f"c{rng.randrange(20)}",
              "status": "fail", "severity": "high", "provider": "aws"}),
            ("incidents", "incident.acknowledged", {"incident_id": f"i{rng.randrange(sizes.incidents)}"}),
        ]  # fmt: skip
        topic, type_, data = kinds[i % len(kinds)]
        event = {"specversion": "1.0", "id": f"live-{round_}-{i}", "source": "bench/live", "type": type_,
                 "time": (at - timedelta(seconds=rng.uniform(0, 5))).isoformat(), "data": data}  # fmt: skip
        got = _DECODER.decode(f"trustline.{topic}", json.dumps(event).encode())
        assert not isinstance(got, Rejection), got
        out.extend(got)
    return out


async def _live(conn: asyncpg.Connection, state: LiveState, at: datetime) -> float:
    """One live snapshot's computation (as the leader runs it, without the history write)."""
    started = time.perf_counter()
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await set_work_mem(conn)
        _, seqs = await evaluate_live(conn, state, at=at, caps=CAPS)
    seconds = time.perf_counter() - started
    await changes.forget(conn, seqs)
    return seconds


async def measure(dsn: str, fraction: float, changed: int, repeats: int) -> dict[str, object]:
    """Generate one size, then time the scan, the as-of snapshot and the live one after each trickle."""
    conn = await asyncpg.connect(dsn)
    try:
        now = datetime.now(UTC)
        sizes = Sizes.fraction(fraction)
        print(f"  generating {fraction:.0%} of the P3 data set ...", flush=True)
        rows = await generate(conn, sizes, now)
        await conn.execute(
            "SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off"
        )
        scan = await _median_seconds(lambda: _scan_all(conn))
        await conn.execute("RESET enable_indexscan; RESET enable_indexonlyscan; RESET enable_bitmapscan")
        print(f"  {sum(rows.values()):,} rows; scan {scan:.3f}s; the full as-of snapshot ...", flush=True)
        full = await _median_seconds(
            lambda: compute_snapshot(conn, at=now, policy=Policy(), max_business_units=50), repeats
        )
        state = LiveState(Policy())
        at = datetime.now(UTC)
        first = await _live(conn, state, at)
        print(
            f"  as-of {full:.3f}s; live first pass {first:.1f}s; {ROUNDS} rounds of {changed} changes",
            flush=True,
        )
        rng, times, recomputed = random.Random(7), [], []
        for round_ in range(ROUNDS):
            at += timedelta(seconds=5)
            async with conn.transaction():
                await store_events(conn, _trickle(rng, sizes, changed, at, round_))
            times.append(await _live(conn, state, at))
            recomputed.append(state.recomputed)
        live = statistics.median(times)
        return {"fraction": fraction, "rows": rows, "scan_s": scan, "as_of_s": full, "first_pass_s": first,
                "live_s": live, "live_ratio": live / scan, "as_of_ratio": full / scan,
                "recomputed": recomputed}  # fmt: skip
    finally:
        await conn.close()


async def run_all(
    dsn: str, fractions: list[float], changed: int, repeats: int
) -> tuple[str, list[dict[str, Any]]]:
    conn = await asyncpg.connect(dsn)
    version = str(await conn.fetchval("SHOW server_version"))
    await conn.close()
    return version, [await measure(dsn, f, changed, repeats) for f in fractions]


def main(fractions: list[float], changed: int, repeats: int) -> None:
    with private_stack() as settings:
        # Generating the data TRUNCATEs state tables: the schema owner's right, not the services'.
        version, results = asyncio.run(run_all(settings.migration_asyncpg_dsn(), fractions, changed, repeats))
    facts = machine(version)
    print(f"\nP3 live ({facts['cores']} cores, PostgreSQL {version}; {changed} changed entities a snapshot, "
          f"median of {ROUNDS})")  # fmt: skip
    print(f"{'size':>6} {'cycles':>10} {'scan s':>8} {'as-of s':>8} {'x scan':>7} {'live s':>8} {'x scan':>7}"
          f" {'first pass s':>13}")  # fmt: skip
    for r in results:
        cycles = int(FULL["cycles"] * r["fraction"])
        print(f"{r['fraction']:>6.0%} {cycles:>10,} {r['scan_s']:>8.3f} {r['as_of_s']:>8.3f}"
              f" {r['as_of_ratio']:>6.1f}x {r['live_s']:>8.3f} {r['live_ratio']:>6.2f}x"
              f" {r['first_pass_s']:>13.1f}")  # fmt: skip
    ones = [r for r in results if r["fraction"] == 1.0]
    threes = [r for r in results if r["fraction"] == 3.0]
    if ones and threes:
        print(f"live 3x / live 1x: {threes[0]['live_s'] / ones[0]['live_s']:.2f} (goal <= 1.3)")
    record(
        "P3-live",
        {"machine": facts, "changed": changed, "goal": "live <= 1 x scan at 1x; live 3x <= 1.3 x live 1x",
         "runs": results},
    )  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fractions", default="1.0,3.0", help="sizes as fractions of the full P3 set")
    parser.add_argument("--changed", type=int, default=100, help="entities changed between two snapshots")
    parser.add_argument("--as-of-repeats", type=int, default=3, help="timings of the full as-of snapshot")
    args = parser.parse_args()
    main([float(x) for x in args.fractions.split(",")], args.changed, args.as_of_repeats)
