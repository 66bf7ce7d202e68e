"""`trustline run --no-demo` (what `DEMO=0 make run` runs): the whole system up, fed by an outside producer,
and everything it started stopped by Ctrl-C."""

from __future__ import annotations

import json
import re
import shutil
import signal
from pathlib import Path

import pytest

from tests.helpers import parse_metrics, sample
from tests.integration.runs import Run, get, trustline_run

pytestmark = pytest.mark.integration


def _check_prometheus(run: Run) -> None:
    """When Debian's prometheus is installed, run starts it with the rules; otherwise it says so."""
    port = run.ports["prometheus"]
    if shutil.which("prometheus") is None:
        assert "Prometheus  (not installed" in run.log.read_text()
        return
    assert f"Prometheus  http://127.0.0.1:{port}" in run.log.read_text()
    query = "trustline:vulnerabilities_past_sla_by_severity:sum"
    url = f"http://127.0.0.1:{port}/api/v1/query?query={query}"

    def recorded() -> bool:
        body = json.loads(get(url) or "{}")
        # The one critical finding above, past its SLA, through the scrape and the recording rule.
        return [r["value"][1] for r in body.get("data", {}).get("result", [])] == ["1"]

    run.wait(recorded, 60)


def test_run_without_demo_serves_metrics_for_events_from_an_outside_producer(tmp_path: Path) -> None:
    with trustline_run(tmp_path) as run:
        run.wait(lambda: "trustline_snapshot_timestamp_seconds" in run.metrics(), 120)
        run.wait(lambda: "/metrics" in run.log.read_text(), 30)  # the banner says where to look
        # ... and where the pages are, with the development sign-in to use.
        assert re.search(r"pages\s+http://127\.0\.0\.1:\d+/\s+\(development sign-in", run.log.read_text())
        # 10 days open against the 7 day critical SLA.
        run.produce_critical("h1")
        run.wait(lambda: run.breached_criticals() == 1, 60)
        # Each component reports on itself: the ingest worker counted the event it stored.
        ingest = parse_metrics(get(f"http://127.0.0.1:{run.ports['ingest']}/metrics") or "")
        stored = sample(
            ingest, "trustline_ingest_events_total", topic="trustline.vulnerabilities", outcome="stored"
        )
        assert stored == 1
        aggregator = get(f"http://127.0.0.1:{run.ports['aggregator']}/metrics") or ""
        assert "trustline_aggregation_last_success_timestamp_seconds" in aggregator
        _check_prometheus(run)
        run.proc.send_signal(signal.SIGINT)
        code = run.proc.wait(60)
        listening = run.listening()
    assert code == 0, run.log.read_text()[-3000:]
    assert not listening, "something it started is still listening"
