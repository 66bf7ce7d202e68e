"""`trustline run` keeps the system up: a crashed component or broker comes back, a component that keeps
crashing is given up without taking anything else down, and `trustline dev down` ends a run cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.helpers import clean_env, cloudevent, parse_metrics, produce, sample
from tests.integration.test_run import _get, _wait
from trustline.cli.devstack import DevStack
from trustline.cli.processes import port_open
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
PORTS = ("pg", "kafka", "api", "ingest", "aggregator", "prometheus")


@dataclass
class Run:
    proc: subprocess.Popen[bytes]
    ports: dict[str, int]
    env: dict[str, str]
    state: Path
    log: Path

    def wait(self, predicate: object, seconds: float = 90) -> None:
        _wait(predicate, seconds, self.proc, self.log)

    def component_pid(self, name: str) -> int | None:
        record = json.loads((self.state / "run.json").read_text())
        pid = record["components"][name]["pid"]
        return int(pid) if pid is not None else None

    def metrics(self) -> str:
        return _get(f"http://127.0.0.1:{self.ports['api']}/metrics") or ""

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


def test_a_killed_component_and_a_killed_broker_come_back_and_events_still_reach_metrics(
    tmp_path: Path,
) -> None:
    with trustline_run(tmp_path) as run:
        run.wait(lambda: "Trustline is running" in run.log.read_text() and run.component_pid("ingest"))
        ingest = run.component_pid("ingest")
        assert ingest is not None
        os.kill(ingest, signal.SIGKILL)
        run.wait(lambda: run.component_pid("ingest") not in (None, ingest))
        assert port_open(run.ports["pg"]) and port_open(run.ports["kafka"]), "the servers must stay up"
        run.produce_critical("h1")
        run.wait(lambda: run.breached_criticals() == 1)

        # The broker keeps everything in memory: killed, it comes back empty and the topics are recreated.
        broker = int((tmp_path / "broker" / "tansu.pid").read_text())
        os.kill(broker, signal.SIGKILL)
        run.wait(lambda: "topics created again" in run.log.read_text())
        run.produce_critical("h2")
        run.wait(lambda: run.breached_criticals() == 2)

        run.proc.send_signal(signal.SIGINT)
        assert run.proc.wait(60) == 0, run.log.read_text()[-3000:]
        assert run.listening() == [], "something it started is still listening"
        assert not (tmp_path / "run.json").exists()


def test_a_component_that_keeps_crashing_is_given_up_and_dev_down_ends_the_run(tmp_path: Path) -> None:
    ports = {name: free_port() for name in PORTS}
    # Its metrics port taken, the aggregator fails at every start.
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", ports["aggregator"]))
    blocker.listen()
    with trustline_run(tmp_path, ports) as run:
        run.wait(lambda: "not restarted again" in run.log.read_text(), seconds=180)
        assert "aggregator" in run.log.read_text().split("not restarted again")[0].splitlines()[-1]
        assert _get(f"http://127.0.0.1:{run.ports['api']}/healthz") is not None, "the API keeps serving"
        assert port_open(run.ports["pg"]) and port_open(run.ports["kafka"])

        down = subprocess.run([sys.executable, "-m", "trustline.cli", "dev", "down"], env=run.env,
                              capture_output=True, text=True, timeout=180, check=False)  # fmt: skip
        assert down.returncode == 0, down.stderr
        assert "`trustline run` stopped" in down.stderr
        assert run.proc.wait(60) == 0, run.log.read_text()[-3000:]
        blocker.close()
        assert run.listening() == [], "something it started is still listening"
        # The components stopped before the servers went: no request failed on a missing database.
        api_log = (tmp_path / "log" / "api.log").read_text()
        assert "Traceback" not in api_log and " 500 " not in api_log, api_log[-3000:]
