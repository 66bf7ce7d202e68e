"""P4/P5: /metrics latency under 50 concurrent scrapers, against a static file served by the same server.

Both servers run as their own single uvicorn process; the same client scrapes each in turn with the same
pattern. Also reported: the API's peak RSS (P5) and the database transactions during the scrapes
(the snapshot refresher's polls only: a scrape never queries the database).

Run with `make bench-p4` (or `.venv/bin/python bench/p4_scrape.py [--scrapers 50] [--seconds 20]`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import component_env, free_port, machine, private_stack, record  # noqa: E402
from p3_data import Sizes, generate  # noqa: E402
from p4_prometheus import available, scrape_durations  # noqa: E402

from trustline.shared.metrics.snapshot import snapshot_once  # noqa: E402
from trustline.shared.policy import Policy  # noqa: E402
from trustline.shared.settings import Settings  # noqa: E402

HERE = Path(__file__).resolve().parent


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _ready(url: str, min_bytes: int) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(600):
            try:
                if len((await http.get(url)).content) >= min_bytes:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} never served {min_bytes} bytes")


async def _scrape(url: str, scrapers: int, seconds: float, interval: float) -> list[float]:
    """Scrapers that keep their connection and scrape every `interval` s, like Prometheus; latencies."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def scraper(offset: float) -> None:
        async with httpx.AsyncClient(timeout=30, headers={"Accept-Encoding": "gzip"}) as http:
            await asyncio.sleep(offset)
            while (started := time.perf_counter()) < deadline:
                response = await http.get(url)
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(max(0.0, interval - (time.perf_counter() - started)))

    await asyncio.gather(*(scraper(interval * i / scrapers) for i in range(scrapers)))
    return latencies


def _stats(latencies: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"scrapes": len(latencies), "p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000}


async def _prepare(settings: Settings) -> tuple[str, int]:
    conn = await asyncpg.connect(settings.asyncpg_dsn())
    try:
        now = datetime.now(UTC)
        print("  generating 10 % of the P3 data set for a realistic snapshot ...", flush=True)
        await generate(conn, Sizes.fraction(0.1), now)
        samples, _ = await snapshot_once(conn, at=now, policy=Policy(), max_business_units=50, writer="bench")
        return str(await conn.fetchval("SHOW server_version")), samples
    finally:
        await conn.close()


async def _transactions(settings: Settings) -> int:
    conn = await asyncpg.connect(settings.asyncpg_dsn())
    try:
        await asyncio.sleep(1.5)  # statistics are flushed about once a second
        return int(
            await conn.fetchval(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1", "trustline"
            )  # fmt: skip
        )
    finally:
        await conn.close()


async def _measure(settings: Settings, args: argparse.Namespace, api: str, static: str) -> dict[str, object]:
    async with httpx.AsyncClient() as http:
        body = len((await http.get(api)).content)
    print(f"  /metrics body: {body:,} bytes; warm-up, then {args.scrapers} scrapers for {args.seconds:.0f}s")
    if args.client == "python":
        await _scrape(api, args.scrapers, 3, args.interval)
        await _scrape(static, args.scrapers, 3, args.interval)
    before = await _transactions(settings)
    if args.client == "prometheus":
        # One target at a time, each scraped by its own real Prometheus with a scrape loop per scraper.
        scrape = partial(
            scrape_durations, scrapers=args.scrapers, seconds=args.seconds, interval=args.interval
        )
        api_lat = (await asyncio.to_thread(scrape, {"api": api}))["api"]
        queries = await _transactions(settings) - before
        static_lat = (await asyncio.to_thread(scrape, {"static": static}))["static"]
    else:
        api_lat = await _scrape(api, args.scrapers, args.seconds, args.interval)
        queries = await _transactions(settings) - before
        static_lat = await _scrape(static, args.scrapers, args.seconds, args.interval)
    return {
        "body_bytes": body,
        "api": _stats(api_lat),
        "static": _stats(static_lat),
        "db_transactions_during_api_scrapes": queries,
    }


def main(args: argparse.Namespace) -> None:
    with private_stack() as settings, tempfile.TemporaryDirectory(prefix="trustline-p4-") as static_dir:
        version, samples = asyncio.run(_prepare(settings))
        api_port, static_port = free_port(), free_port()
        api = subprocess.Popen([sys.executable, "-m", "trustline.cli", "api", "--log-level", "WARNING"],
                               env=component_env(settings, api_port=str(api_port)))  # fmt: skip
        static = None
        try:
            api_url = f"http://127.0.0.1:{api_port}/metrics"
            asyncio.run(_ready(api_url, 10_000))
            (Path(static_dir) / "metrics").write_bytes(httpx.get(api_url).content)
            static = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "p4_static_app:app", "--port", str(static_port),
                 "--log-level", "warning", "--no-access-log"],
                cwd=HERE, env={**os.environ, "P4_STATIC_DIR": static_dir},
            )  # fmt: skip
            static_url = f"http://127.0.0.1:{static_port}/metrics"
            asyncio.run(_ready(static_url, 10_000))
            result = asyncio.run(_measure(settings, args, api_url, static_url))
            rss = _peak_rss_mb(api.pid)
        finally:
            for proc in (api, static):
                if proc is not None:
                    proc.terminate()
                    proc.wait(30)
    facts = machine(version)
    a, s = result["api"], result["static"]  # type: ignore[index]
    ratio = a["p99_ms"] / s["p99_ms"]  # type: ignore[index]
    print(f"\nP4 scrape latency ({facts['cores']} cores, PostgreSQL {version}; {samples:,} samples, "
          f"{result['body_bytes']:,} bytes; {args.scrapers} {args.client} scrapers "
          f"every {args.interval:g}s)")  # fmt: skip
    print(f"{'target':>16} {'scrapes':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, r in (("/metrics (API)", a), ("static file", s)):
        print(f"{name:>16} {r['scrapes']:>8,} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f}")  # type: ignore[index]
    print(f"p99 ratio to the static file: {ratio:.2f}x; goal p99 <= 25 ms")
    print(f"database transactions during the API scrapes: {result['db_transactions_during_api_scrapes']} "
          f"(the refresher's polls; a scrape runs none)")  # fmt: skip
    print(f"P5: API peak RSS {rss:.0f} MB (goal <= 250 MB)")
    goal = "p99 <= 25 ms, no query per scrape"
    run = {"samples": samples, "scrapers": args.scrapers, "client": args.client, "interval_s": args.interval,
           "p99_ratio": ratio}  # fmt: skip
    record("P4", {"machine": facts, "goal": goal, **run, **result})
    record("P5_api", {"machine": facts, "goal": "<= 250 MB", "api_peak_rss_mb": rss})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scrapers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between one scraper's scrapes")
    parser.add_argument(
        "--client",
        choices=["prometheus", "python"],
        default="prometheus" if available() else "python",
        help="who scrapes: a real Prometheus (one job per scraper; the default when installed) or httpx",
    )
    main(parser.parse_args())
