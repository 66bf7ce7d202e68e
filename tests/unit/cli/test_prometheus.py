"""The Prometheus that `trustline run` starts: its generated config scrapes every component and loads the rules."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import yaml

from tests.helpers import prometheus_tool
from trustline.cli.local import prometheus
from trustline.shared.settings import Settings


def test_config_scrapes_api_and_pipeline_ports_and_loads_the_project_rules(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, api_port=18000, prometheus_port=19090)
    path = prometheus.write_config(settings, ingest_port=19101, aggregator_port=19102)
    assert path == tmp_path / "prometheus" / "prometheus.yml"
    config = yaml.safe_load(path.read_text())
    targets = {j["job_name"]: j["static_configs"][0]["targets"] for j in config["scrape_configs"]}
    assert targets == {
        "trustline-api": ["127.0.0.1:18000"],
        "trustline-ingest": ["127.0.0.1:19101"],
        "trustline-aggregator": ["127.0.0.1:19102"],
    }
    [rules] = config["rule_files"]
    assert sorted(p.name for p in Path(rules).parent.glob(Path(rules).name)) == [
        "alerts.yaml",
        "recording.yaml",
    ]
    if shutil.which("prometheus"):
        cmd = prometheus.command(settings, path)
        assert cmd is not None and "--web.listen-address=127.0.0.1:19090" in cmd


def test_promtool_accepts_the_generated_config(tmp_path: Path) -> None:
    path = prometheus.write_config(Settings(state_dir=tmp_path), ingest_port=9101, aggregator_port=9102)
    done = subprocess.run(
        [prometheus_tool("promtool"), "check", "config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_with_a_metrics_token_every_job_sends_it_from_a_private_file(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, metrics_token="scrape-s3cret")
    stale = tmp_path / "prometheus" / "metrics-token"
    stale.parent.mkdir()
    stale.write_text("old")
    stale.chmod(0o644)
    path = prometheus.write_config(settings, ingest_port=9101, aggregator_port=9102)
    token_file = (tmp_path / "prometheus" / "metrics-token").resolve()
    assert token_file.read_text() == "scrape-s3cret"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert "scrape-s3cret" not in path.read_text()
    jobs = yaml.safe_load(path.read_text())["scrape_configs"]
    assert len(jobs) == 3
    for job in jobs:
        assert job["authorization"] == {"type": "Bearer", "credentials_file": str(token_file)}
    # Without the token again: no credentials, and the file is gone.
    path = prometheus.write_config(Settings(state_dir=tmp_path), ingest_port=9101, aggregator_port=9102)
    assert all("authorization" not in j for j in yaml.safe_load(path.read_text())["scrape_configs"])
    assert not token_file.exists()


def test_promtool_accepts_the_config_with_a_token(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, metrics_token="scrape-s3cret")
    path = prometheus.write_config(settings, ingest_port=9101, aggregator_port=9102)
    jobs = yaml.safe_load(path.read_text())["scrape_configs"]
    assert all(j["authorization"]["type"] == "Bearer" for j in jobs)
    done = subprocess.run(
        [prometheus_tool("promtool"), "check", "config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
