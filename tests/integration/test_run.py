"""`trustline run --no-demo` (what `DEMO=0 make run` runs): the whole system up, fed by an outside producer,
and everything it started stopped by Ctrl-C."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.helpers import clean_env, cloudevent, parse_metrics, produce, sample
from trustline.cli.devstack import DevStack
from trustline.cli.processes import port_open
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return str(response.read().decode())
    except OSError:
        return None


def _wait(predicate: object, seconds: float, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        assert proc.poll() is None, f"trustline run exited early:\n{log.read_text()[-3000:]}"
        time.sleep(0.5)
    raise AssertionError(f"timed out after {seconds}s:\n{log.read_text()[-3000:]}")


def _check_prometheus(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    """When Debian's prometheus is installed, run starts it with the rules; otherwise it says so."""
    if shutil.which("prometheus") is None:
        assert "Prometheus  (not installed" in log.read_text()
        return
    assert f"Prometheus  http://127.0.0.1:{port}" in log.read_text()
    query = "trustline:vulnerabilities_past_sla_by_severity:sum"
    url = f"http://127.0.0.1:{port}/api/v1/query?query={query}"

    def recorded() -> bool:
        body = json.loads(_get(url) or "{}")
        # The one critical finding above, past its SLA, through the scrape and the recording rule.
        return [r["value"][1] for r in body.get("data", {}).get("result", [])] == ["1"]

    _wait(recorded, 60, proc, log)


def test_run_without_demo_serves_metrics_for_events_from_an_outside_producer(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("pg", "kafka", "api", "ingest", "aggregator", "prometheus")}
    env = clean_env(
        TRUSTLINE_STATE_DIR=str(tmp_path),
        TRUSTLINE_DEV_POSTGRES_PORT=str(ports["pg"]),
        TRUSTLINE_DEV_KAFKA_PORT=str(ports["kafka"]),
        TRUSTLINE_API_PORT=str(ports["api"]),
        TRUSTLINE_INGEST_METRICS_PORT=str(ports["ingest"]),
        TRUSTLINE_AGGREGATOR_METRICS_PORT=str(ports["aggregator"]),
        TRUSTLINE_PROMETHEUS_PORT=str(ports["prometheus"]),
        TRUSTLINE_AGGREGATION_INTERVAL_SECONDS="1",
    )
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "trustline.cli", "run", "--no-demo"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{ports['api']}/metrics"
    try:
        _wait(lambda: "trustline_snapshot_timestamp_seconds" in (_get(url) or ""), 120, proc, log)
        _wait(lambda: "/metrics" in log.read_text(), 30, proc, log)  # the banner says where to look

        now = datetime.now(UTC)
        event = cloudevent(
            "vulnerability.detected",
            now - timedelta(days=10),
            {"asset_id": "h1", "vulnerability_id": "CVE-2026-1", "severity": "critical"},
            id_="r1",
        )
        produce(f"127.0.0.1:{ports['kafka']}", [("trustline.vulnerabilities", event)])

        def breached() -> bool:
            m = parse_metrics(_get(url) or "")
            # 10 days open against the 7 day critical SLA.
            labels = {"business_unit": "unassigned", "severity": "critical", "sla_status": "breached"}
            return sample(m, "trustline_vulnerabilities_open", **labels) == 1

        _wait(breached, 60, proc, log)
        # Each component reports on itself: the ingest worker counted the event it stored.
        ingest = parse_metrics(_get(f"http://127.0.0.1:{ports['ingest']}/metrics") or "")
        assert (
            sample(
                ingest, "trustline_ingest_events_total", topic="trustline.vulnerabilities", outcome="stored"
            )
            == 1
        )
        aggregator = _get(f"http://127.0.0.1:{ports['aggregator']}/metrics") or ""
        assert "trustline_aggregation_last_success_timestamp_seconds" in aggregator
        _check_prometheus(ports["prometheus"], proc, log)
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(60)
        settings = Settings(state_dir=tmp_path, dev_postgres_port=ports["pg"], dev_kafka_port=ports["kafka"])
        listening = [p for p in ports.values() if port_open(p)]
        DevStack(settings).destroy()  # the data lives outside tmp_path when running as root: never leave it
    assert code == 0, log.read_text()[-3000:]
    assert not listening, "something it started is still listening"
