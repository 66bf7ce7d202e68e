"""H1: bytes the metric history grows per snapshot, today's design against a copy of every sample.

The demo organisation (default size) gets its 90 days of past events, then its live stream at the demo's
rate on a simulated clock: every `--interval` seconds of that clock the events of the interval are stored
and a snapshot is computed and stored, as the aggregator leader does. Each snapshot's samples are also
copied, one row per sample, into a table shaped as the history was before (`metric_samples`: instant,
name, labels, value, indexed by instant and name): the reference, measured in the same run on the same
samples. Then the same number of snapshots with no event at all (a quiet system).

Bytes are PostgreSQL's on-disk size of the tables with their indexes (pg_total_relation_size), before
and after each phase; per day assumes one snapshot every `--interval` seconds.

Run with `make bench-h1` (or `.venv/bin/python bench/h1_history.py [--snapshots 200] [--interval 5]`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, private_stack, record  # noqa: E402

from trustline.demo.events import DemoEvent  # noqa: E402
from trustline.demo.history import history  # noqa: E402
from trustline.demo.live import live  # noqa: E402
from trustline.demo.org import build_org  # noqa: E402
from trustline.demo.run import DemoOptions  # noqa: E402
from trustline.ingest.store import store_events  # noqa: E402
from trustline.shared.events import Decoder, Event, Rejection  # noqa: E402
from trustline.shared.metrics.samples import Sample  # noqa: E402
from trustline.shared.metrics.snapshot import Caps, evaluate, set_work_mem  # noqa: E402
from trustline.shared.metrics.store import write_snapshot  # noqa: E402
from trustline.shared.policy import Policy  # noqa: E402
from trustline.shared.progress import track  # noqa: E402
from trustline.shared.settings import Settings  # noqa: E402

NEW = ("snapshots", "metric_series", "metric_values")
OLD = "h1_metric_samples"
_OLD_TABLE = f"""
CREATE TABLE {OLD} (snapshot_at timestamptz NOT NULL, name text NOT NULL, labels jsonb NOT NULL,
                    value float8 NOT NULL);
CREATE INDEX ON {OLD} (snapshot_at, name);
GRANT INSERT, SELECT ON {OLD} TO PUBLIC;
"""
_SIZE = "SELECT sum(pg_total_relation_size(t::regclass))::bigint FROM unnest($1::text[]) AS t"
BATCH = 2000


def _decode(decoder: Decoder, events: list[DemoEvent]) -> list[Event]:
    out: list[Event] = []
    for ev in events:
        got = decoder.decode(ev.topic, json.dumps(ev.event).encode())
        if not isinstance(got, Rejection):
            out.extend(got)
    return out


async def _store(conn: asyncpg.Connection, decoder: Decoder, events: list[DemoEvent]) -> None:
    async with conn.transaction():
        await store_events(conn, _decode(decoder, events))


async def _snapshot(conn: asyncpg.Connection, at: datetime) -> list[Sample]:
    """Compute and store the snapshot at `at`; copy its samples into the reference table too."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await set_work_mem(conn)
        samples = (await evaluate(conn, at=at, policy=Policy(), caps=Caps())).samples
    await write_snapshot(conn, at=at, samples=samples, seconds=0.0, writer="bench")
    rows = [(at, s.name, json.dumps(dict(s.labels), sort_keys=True), s.value) for s in samples]
    await conn.copy_records_to_table(OLD, records=rows, columns=("snapshot_at", "name", "labels", "value"))
    return samples


async def _sizes(conn: asyncpg.Connection) -> tuple[int, int, int]:
    new = int(await conn.fetchval(_SIZE, list(NEW)))
    old = int(await conn.fetchval(_SIZE, ["snapshots", OLD]))
    intervals = int(await conn.fetchval("SELECT count(*) FROM metric_values"))
    return new, old, intervals


async def _phase(
    conn: asyncpg.Connection,
    name: str,
    *,
    start: datetime,
    snapshots: int,
    interval: float,
    stream: Iterator[DemoEvent] | None,
    rate: float,
    clock: list[datetime],
    decoder: Decoder,
    console: Console,
) -> dict[str, object]:
    before = await _sizes(conn)
    samples = 0
    events = 0
    with track(console, name, snapshots) as progress:
        for i in range(1, snapshots + 1):
            clock[0] = start + timedelta(seconds=i * interval)
            if stream is not None:
                due = int(i * interval * rate) - events
                await _store(conn, decoder, [next(stream) for _ in range(due)])
                events += due
            samples += len(await _snapshot(conn, clock[0]))
            progress.advance(1)
    after = await _sizes(conn)
    per_day = 86400 / interval
    new_per, old_per = (after[0] - before[0]) / snapshots, (after[1] - before[1]) / snapshots
    return {
        "snapshots": snapshots,
        "events": events,
        "samples_per_snapshot": samples / snapshots,
        # Rows added to metric_values (closing an interval updates a row, opening one adds one).
        "intervals_added_per_snapshot": round((after[2] - before[2]) / snapshots, 2),
        "bytes_per_snapshot": round(new_per),
        "reference_bytes_per_snapshot": round(old_per),
        "bytes_per_day": round(new_per * per_day),
        "reference_bytes_per_day": round(old_per * per_day),
        "reference_over_new": round(old_per / new_per, 1) if new_per > 0 else None,
    }


async def _measure(settings: Settings, args: argparse.Namespace, console: Console) -> dict[str, object]:
    options = DemoOptions()
    owner = await asyncpg.connect(settings.migration_asyncpg_dsn())
    try:
        await owner.execute(_OLD_TABLE)
    finally:
        await owner.close()
    conn = await asyncpg.connect(settings.asyncpg_dsn())
    # The live stream runs on a simulated clock ahead of the real one: nothing is "from the future".
    decoder = Decoder(
        topic_prefix=settings.topic_prefix, max_bytes=1 << 20, clock=lambda: datetime(2200, 1, 1, tzinfo=UTC)
    )
    try:
        org = build_org(seed=options.seed, assets=options.assets, identities=options.identities)
        now = datetime.now(UTC).replace(microsecond=0)
        past = list(
            history(org, seed=options.seed, start=now - timedelta(days=options.history_days), end=now)
        )
        with track(console, f"storing the demo's {options.history_days} days", len(past)) as progress:
            for i in range(0, len(past), BATCH):
                await _store(conn, decoder, past[i : i + BATCH])
                progress.advance(min(BATCH, len(past) - i))
        clock = [now]
        await _snapshot(conn, now)  # the first snapshot writes every series: not part of either phase
        common = {"snapshots": args.snapshots, "interval": args.interval, "clock": clock, "decoder": decoder}
        stream = live(org, seed=options.seed, clock=lambda: clock[0])
        busy = await _phase(conn, "live stream", start=now, stream=stream, rate=options.rate,
                            console=console, **common)  # type: ignore[arg-type]  # fmt: skip
        quiet_start = now + timedelta(seconds=args.snapshots * args.interval)
        quiet = await _phase(conn, "quiet", start=quiet_start, stream=None, rate=0.0,
                             console=console, **common)  # type: ignore[arg-type]  # fmt: skip
        version = str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()
    return {
        "machine": machine(version),
        "demo": {"assets": options.assets, "identities": options.identities, "rate": options.rate},
        "interval_seconds": args.interval,
        "history_events": len(past),
        "live": busy,
        "quiet": quiet,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=200, help="snapshots per phase (default 200)")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between snapshots (default 5)")
    args = parser.parse_args()
    console = Console()
    with private_stack() as settings:
        result = asyncio.run(_measure(settings, args, console))
    record("h1", result)
    for phase in ("live", "quiet"):
        r = result[phase]
        assert isinstance(r, dict)
        console.print(
            f"H1 {phase}: {r['bytes_per_snapshot']:,} B/snapshot ({r['bytes_per_day']:,} B/day) against "
            f"{r['reference_bytes_per_snapshot']:,} B/snapshot for a copy of every sample "
            f"({r['samples_per_snapshot']:.0f} samples): {r['reference_over_new']} x less"
        )


if __name__ == "__main__":
    main()
