"""A real Prometheus (Debian's 2.x binary) for end-to-end tests: temp config, free port, temp storage."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port
from tests.helpers import prometheus_tool

# How a Grafana user would see the boards by default: every business unit and severity, the 30d window.
GRAFANA_VARIABLES = {
    "$business_unit": ".*",
    "$severity": ".*",
    "$window": "30d",
    "$__rate_interval": "1m",
}
TIME_FILTER = re.compile(r"\$__timeFilter\((\w+(?:\.\w+)?)\)")


def substitute(expr: str) -> str:
    """A panel query with Grafana's variables replaced as Grafana would with the defaults."""
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, f"unsubstituted variable in {expr}"
    return expr


def sql_for_range(sql: str) -> str:
    """A board-trends query with Grafana's $__timeFilter(col) as a range over $1 and $2."""
    return TIME_FILTER.sub(r"\1 BETWEEN $1 AND $2", sql)


@contextmanager
def prometheus(tmp: Path, *, targets: list[str], rule_files: list[Path]) -> Iterator[str]:
    """Run Prometheus scraping `targets` every second and evaluating `rule_files`; yields its URL."""
    binary = prometheus_tool("prometheus")
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": [{"job_name": "trustline-api", "static_configs": [{"targets": targets}]}],
    }
    (tmp / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    log = (tmp / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc, tmp / "prometheus.log")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float = 60.0) -> None:
    """Block until Prometheus answers /-/ready (a cold first start can take several seconds)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"prometheus exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"prometheus not ready within {seconds:.0f}s: {log.read_text()[-2000:]}")


async def instant(client: httpx.AsyncClient, url: str, expr: str) -> list[dict[str, Any]]:
    """The result vector of an instant query (an error fails the test with Prometheus's message)."""
    response = await client.get(f"{url}/api/v1/query", params={"query": expr})
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success", (expr, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def values(result: list[dict[str, Any]], label: str = "") -> dict[str, float]:
    """{label value (or "" without a label): sample value} of an instant vector."""
    return {r["metric"].get(label, "") if label else "": float(r["value"][1]) for r in result}
