"""P2: freshness, from an event produced to its effect on /metrics, under a sustained load of mixed events.

The whole pipeline runs as it does in production: ingest worker(s), the aggregator leader and the API, each
its own process on a private PostgreSQL and broker. A producer (librdkafka) sends the demo mix at a fixed
rate; once a second a probe event from its own source goes out with the current time, and a poller reads
/metrics every 100 ms until `trustline_source_last_event_timestamp_seconds{source="bench/probe"}` reaches it.
Freshness is measured once the pipeline runs (a warm-up waits for the first probe to be visible: the
consumer group's first join takes the broker about 5 s). The reference is the aggregation interval, the
delay a snapshot pipeline adds by design.

Run with `make bench-p2` (or `.venv/bin/python bench/p2_freshness.py [--rate 10000] [--seconds 60]`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from confluent_kafka import Producer

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import component_env, free_port, machine, postgres_version, private_stack, record, wait_http  # noqa: E402
from p1_ingest import mixed_events  # noqa: E402

from trustline.ingest.topics import ensure_topics  # noqa: E402
from trustline.shared.settings import Settings  # noqa: E402

PROBE_SOURCE = "bench/probe"
PROBE = re.compile(r'trustline_source_last_event_timestamp_seconds\{source="bench/probe"\} (\S+)')


def _load(bootstrap: str, events: list[tuple[str, bytes, bytes]], rate: float, stop: threading.Event,
          sent: list[int]) -> None:  # fmt: skip
    """Send the mix at `rate` events/s (paced every 10 ms) until stopped."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.num.messages": 10000})
    started, i = time.perf_counter(), 0
    while not stop.is_set():
        due = int((time.perf_counter() - started) * rate)
        while i < due:
            topic, key, value = events[i % len(events)]
            if i >= len(events):  # another lap through the pool: new ids, so these are not duplicates
                value = value.replace(b'"id": "', b'"id": "%d-' % (i // len(events)), 1)
            try:
                producer.produce(topic, value, key=key)
            except BufferError:
                producer.poll(0.05)
                continue
            i += 1
        producer.poll(0)
        time.sleep(0.01)
    producer.flush(30)
    sent.append(i)


def _probe(producer: Producer, prefix: str, n: int) -> float:
    at = datetime.now(UTC)
    event = {"specversion": "1.0", "id": f"probe-{n}", "source": PROBE_SOURCE, "type": "asset.observed",
             "time": at.isoformat(), "data": {"asset_id": "bench-probe", "kind": "other"}}  # fmt: skip
    producer.produce(f"{prefix}.assets", json.dumps(event).encode(), key=b"bench-probe")
    producer.flush(10)
    return at.timestamp()


async def _warm_up(http: httpx.AsyncClient, api: str, producer: Producer, prefix: str) -> int:
    """Probe once a second, under the load, until one is visible: the consumer group has joined (the
    broker holds a first JoinGroup about 5 s) and the leader has made its first pass. Freshness is
    measured from then on; returns the number of warm-up probes."""
    started, n, newest, last = time.monotonic(), 0, -1.0, 0.0
    while newest < last and time.monotonic() < started + 120:
        last, n = _probe(producer, prefix, n), n + 1
        for _ in range(10):
            found = PROBE.search((await http.get(api)).text)
            newest = float(found.group(1)) if found else -1.0
            if newest >= last:
                break
            await asyncio.sleep(0.1)
    print(f"  warm-up: the first probe visible after {time.monotonic() - started:.1f}s", flush=True)
    return n


async def _observe(
    api: str, bootstrap: str, prefix: str, seconds: float, load_done: threading.Event
) -> list[float]:
    """Freshness of one probe a second: produced -> visible on /metrics, in seconds."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    pending: dict[float, float] = {}  # probe event time -> monotonic time it was produced
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=10) as http:
        n = await _warm_up(http, api, producer, prefix)
        next_probe, deadline = time.monotonic(), time.monotonic() + seconds
        while time.monotonic() < deadline or (pending and time.monotonic() < deadline + 120):
            if time.monotonic() >= deadline:
                load_done.set()  # the load stops with the last probe; late probes are still awaited
            elif time.monotonic() >= next_probe:
                pending[_probe(producer, prefix, n)] = time.monotonic()
                n, next_probe = n + 1, next_probe + 1.0
            found = PROBE.search((await http.get(api)).text)
            if found:
                newest = float(found.group(1))
                for at in [t for t in pending if t <= newest + 1e-3]:
                    latencies.append(time.monotonic() - pending.pop(at))
            await asyncio.sleep(0.1)
    if pending:
        print(f"  {len(pending)} probes never became visible within 120 s of the end", flush=True)
    return latencies


async def _lag(settings: Settings, produced: int) -> int:
    conn = await asyncpg.connect(settings.asyncpg_dsn())
    try:
        return produced - int(
            await conn.fetchval("SELECT count(*) FROM raw_events WHERE source <> $1", PROBE_SOURCE)
        )
    finally:
        await conn.close()


def main(args: argparse.Namespace) -> None:
    print(f"  preparing {args.pool:,} events of the demo mix ...", flush=True)
    events = mixed_events(args.pool)
    with private_stack() as settings:
        asyncio.run(ensure_topics(settings))
        api_port = free_port()
        env = component_env(settings, api_port=str(api_port), aggregation_interval_seconds=str(args.interval))
        command = [sys.executable, "-m", "trustline.cli"]
        procs = [
            subprocess.Popen([*command, name, "--log-level", "WARNING"], env=env)
            for name in ["api", "aggregate", *["ingest"] * args.workers]
        ]
        stop, sent = threading.Event(), []
        load = threading.Thread(
            target=_load, args=(settings.bootstrap_servers(), events, args.rate, stop, sent), daemon=True
        )
        try:
            wait_http(f"http://127.0.0.1:{api_port}/readyz")
            load.start()
            print(f"  {args.rate:,.0f} events/s for {args.seconds:.0f}s, a probe a second", flush=True)
            latencies = asyncio.run(
                _observe(f"http://127.0.0.1:{api_port}/metrics", settings.bootstrap_servers(),
                         settings.topic_prefix, args.seconds, stop)
            )  # fmt: skip
            stop.set()
            load.join()
            behind = asyncio.run(_lag(settings, sent[0]))
            version = asyncio.run(postgres_version(settings.asyncpg_dsn()))
        finally:
            stop.set()
            for proc in procs:
                proc.terminate()
                proc.wait(30)
    facts = machine(version)
    cuts = (
        statistics.quantiles(latencies, n=100, method="inclusive")
        if len(latencies) > 1
        else [float("nan")] * 99
    )
    p50, p95 = cuts[49], cuts[94]
    print(f"\nP2 freshness ({facts['cores']} cores, PostgreSQL {version}; {args.workers} ingest worker(s); "
          f"{sent[0]:,} events at {args.rate:,.0f}/s asked)")  # fmt: skip
    ratio = p95 / args.interval
    print(f"probes seen: {len(latencies)}; p50 {p50:.2f}s, p95 {p95:.2f}s; aggregation interval "
          f"{args.interval:g}s -> p95 = {ratio:.2f} x interval (goal p95 <= 10 s, aim 2 s)")  # fmt: skip
    print(f"events not yet stored when the last probe was seen: {behind:,}")
    print("latencies in order (s): " + " ".join(f"{x:.2f}" for x in latencies))
    run = {"rate": args.rate, "seconds": args.seconds, "workers": args.workers, "interval_s": args.interval}
    seen = {
        "sent": sent[0],
        "probes": len(latencies),
        "p50_s": p50,
        "p95_s": p95,
        "backlog_at_end": behind,
        "latencies_s": [round(x, 3) for x in latencies],
    }
    record("P2", {"machine": facts, "goal": "p95 <= 10 s", **run, **seen, "p95_to_interval": ratio})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=10_000, help="events per second of background load")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=1, help="ingest workers (one consumer group)")
    parser.add_argument("--interval", type=float, default=5.0, help="aggregation interval, seconds")
    parser.add_argument("--pool", type=int, default=200_000, help="distinct events the load cycles through")
    main(parser.parse_args())
