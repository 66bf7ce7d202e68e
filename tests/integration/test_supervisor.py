"""`trustline run` keeps the system up: a crashed component or broker comes back, a component that keeps
crashing is given up without taking anything else down, and `trustline dev down` ends a run cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.integration.runs import PORTS, get, trustline_run
from trustline.cli.local.processes import port_open

pytestmark = pytest.mark.integration


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
        assert get(f"http://127.0.0.1:{run.ports['api']}/healthz") is not None, "the API keeps serving"
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
