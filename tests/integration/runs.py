"""Drive `trustline run --no-demo` as a user would: a subprocess on free ports, its log, its /metrics."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import free_port
from tests.helpers import clean_env, cloudevent, parse_metrics, produce, sample
from trustline.cli.local.devstack import DevStack
from trustline.cli.local.processes import port_open
from trustline.shared.settings import Settings


def get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return str(response.read().decode())
    except OSError:
        return None


def wait(predicate: object, seconds: float, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        assert proc.poll() is None, f"trustline run exited early:\n{log.read_text()[-3000:]}"
        time.sleep(0.5)
    raise AssertionError(f"timed out after {seconds}s:\n{log.read_text()[-3000:]}")


PORTS = ("pg", "kafka", "api", "ingest", "aggregator", "prometheus")


@dataclass
class Run:
    proc: subprocess.Popen[bytes]
    ports: dict[str, int]
    env: dict[str, str]
    state: Path
    log: Path

    def wait(self, predicate: object, seconds: float = 90) -> None:
        wait(predicate, seconds, self.proc, self.log)

    def component_pid(self, name: str) -> int | None:
        record = json.loads((self.state / "run.json").read_text())
        pid = record["components"][name]["pid"]
        return int(pid) if pid is not None else None

    def metrics(self) -> str:
        return get(f"http://127.0.0.1:{self.ports['api']}/metrics") or ""

    def breached_criticals(self) -> float | None:
        labels = {"business_unit": "unassigned", "severity": "critical", "sla_status": "breached"}
        return sample(parse_metrics(self.metrics()), "trustline_vulnerabilities_open", **labels)

    def produce_critical(self, asset: str) -> None:
        at = datetime.now(UTC) - timedelta(days=10)  # past the 7-day SLA of a critical
        data = {"asset_id": asset, "vulnerability_id": "CVE-2026-1", "severity": "critical"}
        produce(f"127.0.0.1:{self.ports['kafka']}", [("trustline.vulnerabilities", cloudevent(
            "vulnerability.detected", at, data, id_=f"sup-{asset}"))])  # fmt: skip

    def listening(self) -> list[str]:
        return [name for name, port in self.ports.items() if port_open(port)]


@contextmanager
def trustline_run(tmp_path: Path, ports: dict[str, int] | None = None) -> Iterator[Run]:
    """`trustline run --no-demo` on free ports; whatever happens, its stack is destroyed afterwards."""
    ports = ports or {name: free_port() for name in PORTS}
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
        proc = subprocess.Popen([sys.executable, "-m", "trustline.cli", "run", "--no-demo"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        yield Run(proc, ports, env, tmp_path, log)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(60)
        settings = Settings(state_dir=tmp_path, dev_postgres_port=ports["pg"], dev_kafka_port=ports["kafka"])
        DevStack(settings).destroy()  # the data lives outside tmp_path when running as root
