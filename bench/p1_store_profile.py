"""Where the ingest store spends its time: the demo mix stored batch by batch straight through
`store_events` (no Kafka), with wall time per SQL statement and, optionally, a cProfile of the Python side.

Not a benchmark figure (no reference): a tool to decide what to optimise.
`.venv/bin/python bench/p1_store_profile.py --events 200000 [--batch 5000] [--cprofile]`
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import re
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import private_stack  # noqa: E402
from p1_ingest import mixed_events  # noqa: E402

from trustline.ingest.store import store_events  # noqa: E402
from trustline.shared.events import Decoder, Event, Rejection  # noqa: E402

SPENT: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])


class Timed:
    """A connection whose statements are timed under a short label."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._conn, name)
        if name not in ("execute", "fetch", "fetchval", "copy_records_to_table", "executemany"):
            return attr

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await attr(*args, **kwargs)
            finally:
                label = f"{name} {_label(str(args[0]))}"
                SPENT[label][0] += time.perf_counter() - started
                SPENT[label][1] += 1

        return timed


def _label(sql: str) -> str:
    sql = re.sub(r"\s+", " ", sql)
    return sql[:90]


def decoded(n: int) -> list[Event]:
    decoder = Decoder(topic_prefix="trustline", max_bytes=1 << 20)
    out: list[Event] = []
    for topic, _, value in mixed_events(n):
        got = decoder.decode(topic, value)
        if not isinstance(got, Rejection):
            out.extend(got)
    return out


async def run(dsn: str, events: list[Event], batch: int) -> float:
    conn = await asyncpg.connect(dsn)
    timed = Timed(conn)
    started = time.perf_counter()
    try:
        for i in range(0, len(events), batch):
            async with conn.transaction():
                await store_events(timed, events[i : i + batch])  # type: ignore[arg-type]
        return time.perf_counter() - started
    finally:
        await conn.close()


def main(n: int, batch: int, profile: bool) -> None:
    events = decoded(n)
    by_type: dict[str, int] = defaultdict(int)
    for e in events:
        by_type[e.type] += 1
    print("mix:", ", ".join(f"{t} {c}" for t, c in sorted(by_type.items(), key=lambda x: -x[1])))
    with private_stack() as settings:
        prof = cProfile.Profile() if profile else None
        if prof:
            prof.enable()
        seconds = asyncio.run(run(settings.asyncpg_dsn(), events, batch))
        if prof:
            prof.disable()
    print(
        f"\n{len(events):,} events in {seconds:.1f}s = {len(events) / seconds:,.0f} events/s (batch {batch})"
    )
    total_sql = sum(s for s, _ in SPENT.values())
    print(f"SQL round trips: {total_sql:.1f}s; Python and the rest: {seconds - total_sql:.1f}s")
    for label, (s, c) in sorted(SPENT.items(), key=lambda x: -x[1][0])[:25]:
        print(f"  {s:7.2f}s {c:6d}x  {label}")
    if prof:
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--cprofile", action="store_true")
    args = parser.parse_args()
    main(args.events, args.batch, args.cprofile)
