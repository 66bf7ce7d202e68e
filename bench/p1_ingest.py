"""P1: ingest throughput, Kafka to committed PostgreSQL rows (raw + derived state), one worker,
against a raw asyncpg COPY of the same rows into the same table (the physical limit). Also P5 for the
worker: its peak RSS.

Run with `make bench-p1` (or `.venv/bin/python bench/p1_ingest.py --events 1000000`).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from confluent_kafka import Producer

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, postgres_version, private_stack, record  # noqa: E402

from trustline.demo.history import history  # noqa: E402
from trustline.demo.org import build_org  # noqa: E402
from trustline.ingest.raw import RAW_COLUMNS, ensure_partitions, month_of, raw_record  # noqa: E402
from trustline.ingest.topics import ensure_topics  # noqa: E402
from trustline.shared.events import Decoder, Rejection  # noqa: E402
from trustline.shared.settings import Settings  # noqa: E402
from trustline.shared.topics import event_topics  # noqa: E402


def mixed_events(n: int) -> list[tuple[str, bytes, bytes]]:
    """n events of a realistic mix (the demo organisation's history), as (topic, key, value)."""
    end = datetime.now(UTC)
    org = build_org(seed=11, assets=max(300, n // 60), identities=max(200, n // 100))
    past = history(org, seed=11, start=end - timedelta(days=90), end=end)
    return [(e.topic, e.key.encode(), json.dumps(e.event).encode()) for e in itertools.islice(past, n)]


def publish(bootstrap: str, events: list[tuple[str, bytes, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50, "batch.num.messages": 10000})
    for i, (topic, key, value) in enumerate(events):
        while True:
            try:
                producer.produce(topic, value, key=key)
                break
            except BufferError:
                producer.poll(0.5)
        if i % 50_000 == 0:
            print(f"  published {i:,}", flush=True)
    assert producer.flush(120) == 0


async def copy_reference(dsn: str, events: list[tuple[str, bytes, bytes]]) -> tuple[float, float, int]:
    """Seconds to COPY the same raw rows into an empty raw_events (rows prepared beforehand); and seconds
    to COPY them together with their idempotency keys into raw_event_keys, where the unique index lives."""
    decoder = Decoder(topic_prefix="trustline", max_bytes=1 << 20)
    rows = []
    for topic, _, value in events:
        got = decoder.decode(topic, value)
        if not isinstance(got, Rejection):
            rows.extend(raw_record(e) for e in got)
    unique = list({(r[0], r[1]): r for r in rows}.values())
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("TRUNCATE raw_events")
        # The same monthly partitions the worker writes (created before the clock starts: DDL is not COPY).
        async with conn.transaction():
            await ensure_partitions(conn, {month_of(r[6]) for r in unique})
        started = time.perf_counter()
        await conn.copy_records_to_table("raw_events", records=unique, columns=RAW_COLUMNS)
        seconds = time.perf_counter() - started
        await conn.execute("TRUNCATE raw_events")
        keys = [(r[0], r[1], r[6]) for r in unique]
        started = time.perf_counter()
        await conn.copy_records_to_table("raw_events", records=unique, columns=RAW_COLUMNS)
        await conn.copy_records_to_table("raw_event_keys", records=keys, columns=("source", "id", "time"))
        with_keys = time.perf_counter() - started
        await conn.execute("TRUNCATE raw_events, raw_event_keys")
        return seconds, with_keys, len(unique)
    finally:
        await conn.close()


async def stored_rows(conn: asyncpg.Connection, table: str, expected: int) -> int:
    """Rows in `table`; counted only once the cumulative statistics say `expected` were inserted.

    A count(*) every fraction of a second would scan the growing table and steal the database's CPU
    from what is measured; the statistics counter is one cheap lookup (flushed about once a second).
    """
    inserted = await conn.fetchval("SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = $1", table)
    if inserted is None or inserted < expected:
        return int(inserted or 0)
    return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))


async def wait_for(dsn: str, expected: int, proc: subprocess.Popen[bytes]) -> tuple[float, float]:
    """Seconds from the worker's start to the last row, and the steady rate's span (first to last batch)."""
    conn = await asyncpg.connect(dsn)
    started = time.perf_counter()
    reported = -1
    try:
        while True:
            count = await stored_rows(conn, "raw_event_keys", expected)
            if count >= expected:
                total = time.perf_counter() - started
                span = await conn.fetchval(
                    "SELECT extract(epoch FROM max(received_at) - min(received_at)) FROM raw_events"
                )
                return total, float(span)
            if count // 50_000 != reported:
                reported = count // 50_000
                print(f"  stored {count:,} of {expected:,}", flush=True)
            assert proc.poll() is None, "the worker died"
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(n: int, with_quix: bool) -> None:
    load_before = os.getloadavg()
    print(f"generating {n:,} mixed events ...", flush=True)
    events = mixed_events(n)
    with private_stack() as settings:
        dsn = settings.asyncpg_dsn()
        asyncio.run(ensure_topics(settings))
        # TRUNCATE between references: the schema owner's right, not the services'.
        copy_s, copy_keys_s, rows = asyncio.run(copy_reference(settings.migration_asyncpg_dsn(), events))
        print(f"reference: COPY of {rows:,} raw rows in {copy_s:.2f}s; publishing to Kafka ...", flush=True)
        publish(settings.bootstrap_servers(), events)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TRUSTLINE_")},
            "TRUSTLINE_DATABASE_URL": dsn,
            "TRUSTLINE_KAFKA_BOOTSTRAP": settings.bootstrap_servers(),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "trustline.cli", "ingest", "--log-level", "WARNING"], env=env
        )
        try:
            seconds, steady = asyncio.run(wait_for(dsn, rows, proc))
            rss, cpu = peak_rss_mb(proc.pid), cpu_seconds(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        version = asyncio.run(postgres_version(dsn))
        quix = quix_reference(settings, rows) if with_quix else None
    facts = machine(version)
    load = {"before": load_before, "after": os.getloadavg()}
    ours, ref, ref_keys = rows / seconds, rows / copy_s, rows / copy_keys_s
    print(f"\nP1 ingest throughput ({facts['cores']} cores, PostgreSQL {version}, {facts['broker']})")
    print(f"  (between its first and last stored batch the worker ran at {rows / steady:,.0f} events/s)")
    detail = f"{rows:,} events in {seconds:.1f}s from the worker's start, peak RSS {rss:.0f} MB"
    print(f"  (the worker process used {cpu:.0f} s of CPU in those {seconds:.0f} s)")
    print(f"  trustline worker : {ours:>10,.0f} events/s  ({detail})")
    print(f"  (a) raw COPY     : {ref:>10,.0f} events/s  -> ratio {ours / ref:.3f}  (goal >= 0.35)")
    print(f"  (a') COPY + keys : {ref_keys:>10,.0f} events/s  -> ratio {ours / ref_keys:.3f} (+ keys table)")
    print(f"  load average (1, 5, 15 min): before {_load(load['before'])}, after {_load(load['after'])}")
    if quix is None:
        print("  (b) Quix Streams  : not run (not installed, or --no-quix)")
    else:
        theirs = rows / quix
        print(f"  (b) Quix Streams  : {theirs:>10,.0f} events/s  -> ratio {ours / theirs:.2f}  (goal >= 5)")
    record(
        "P1",
        {
            "machine": facts,
            "events": rows,
            "worker_events_per_s": ours,
            "copy_events_per_s": ref,
            "ratio_to_copy": ours / ref,
            "copy_with_keys_events_per_s": ref_keys,
            "ratio_to_copy_with_keys": ours / ref_keys,
            "worker_steady_events_per_s": rows / steady,
            "load_average": load,
            "quix_events_per_s": rows / quix if quix else None,
            "worker_peak_rss_mb": rss,
            "worker_cpu_seconds": cpu,
            "goal": ">= 0.35 x COPY, >= 5 x Quix",
        },
    )


def quix_reference(settings: Settings, rows: int) -> float | None:
    """Seconds for the Quix Streams application to write the same events to its table, or None."""
    try:
        import quixstreams  # noqa: F401
    except ImportError:
        return None
    app = Path(__file__).with_name("p1_quix_app.py")
    topics = event_topics(settings.topic_prefix)
    args = [
        sys.executable,
        str(app),
        settings.bootstrap_servers(),
        str(settings.dev_postgres_port),
        "quix-bench",
    ]
    proc = subprocess.Popen([*args, *topics])
    try:
        # The Quix sink connects as the schema owner (it creates its own table).
        return asyncio.run(_wait_table(settings.migration_asyncpg_dsn(), "quix_events", rows, proc))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


async def _wait_table(dsn: str, table: str, expected: int, proc: subprocess.Popen[bytes]) -> float:
    conn = await asyncpg.connect(dsn)
    started = time.perf_counter()
    try:
        while True:
            exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table)
            if exists and await stored_rows(conn, table, expected) >= expected:
                return time.perf_counter() - started
            assert proc.poll() is None, "the Quix application died"
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


def _load(avg: tuple[float, float, float]) -> str:
    return ", ".join(f"{x:.2f}" for x in avg)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--no-quix", action="store_true", help="skip reference (b)")
    args = parser.parse_args()
    main(args.events, not args.no_quix)
