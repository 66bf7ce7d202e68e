"""P4's scrapers: a real Prometheus with one scrape job per scraper, all pointed at the same target."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import yaml
from common import free_port, wait_http


def available() -> bool:
    """True when Debian's prometheus is installed."""
    return shutil.which("prometheus") is not None


def _config(targets: dict[str, str], scrapers: int, interval: float) -> dict[str, object]:
    jobs = []
    for name, url in targets.items():
        parts = urlsplit(url)
        for i in range(scrapers):
            jobs.append({
                "job_name": f"{name}-{i}",
                "metrics_path": parts.path,
                "static_configs": [{"targets": [parts.netloc]}],
                # Parse every sample as a scrape must, but store none: the bench measures scraping.
                "metric_relabel_configs": [{"source_labels": ["__name__"], "regex": ".+", "action": "drop"}],
            })  # fmt: skip
    every = f"{interval:g}s"
    return {"global": {"scrape_interval": every, "scrape_timeout": every}, "scrape_configs": jobs}


def scrape_durations(
    targets: dict[str, str], scrapers: int, seconds: float, interval: float
) -> dict[str, list[float]]:
    """Every `scrape_duration_seconds` Prometheus recorded per target name over `seconds` (after warm-up)."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="trustline-p4-prom-") as tmp:
        config = Path(tmp) / "prometheus.yml"
        config.write_text(yaml.safe_dump(_config(targets, scrapers, interval)))
        proc = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp}/data",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{base}/-/ready", attempts=300)
            time.sleep(3 + interval)  # every scrape loop has started
            time.sleep(seconds)
            out = {}
            for name in targets:
                query = f'scrape_duration_seconds{{job=~"{name}-.*"}}[{seconds:g}s]'
                got = httpx.get(f"{base}/api/v1/query", params={"query": query}, timeout=30).json()
                out[name] = [float(v) for series in got["data"]["result"] for _, v in series["values"]]
            return out
        finally:
            proc.terminate()
            proc.wait(30)
