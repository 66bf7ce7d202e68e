"""`trustline ingest` and `trustline aggregate` serve their own metrics behind TRUSTLINE_METRICS_TOKEN."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.helpers import clean_env
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
TOKEN = "pipeline-s3cret"


def scrape_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> httpx.Response:
    """The first answer of the component's metrics port (it binds it shortly after starting)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError(f"{url} never answered:\n{log.read_text()[-3000:]}")


@pytest.mark.parametrize(
    ("command", "port_variable", "family"),
    [
        ("ingest", "TRUSTLINE_INGEST_METRICS_PORT", "trustline_ingest_events_total"),
        ("aggregate", "TRUSTLINE_AGGREGATOR_METRICS_PORT", "trustline_aggregation_duration_seconds"),
    ],
)
def test_pipeline_metrics_need_the_token(
    settings: Settings, tmp_path: Path, command: str, port_variable: str, family: str
) -> None:
    port = free_port()
    env = clean_env(
        TRUSTLINE_DATABASE_URL=settings.asyncpg_dsn(),
        TRUSTLINE_KAFKA_BOOTSTRAP=settings.bootstrap_servers(),
        TRUSTLINE_TOPIC_PREFIX=settings.topic_prefix,
        TRUSTLINE_CONSUMER_GROUP=settings.consumer_group,
        TRUSTLINE_STATE_DIR=str(tmp_path),
        TRUSTLINE_METRICS_TOKEN=TOKEN,
        **{port_variable: str(port)},
    )
    log = tmp_path / f"{command}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "trustline.cli", command], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        assert scrape_until_up(url, proc, log).status_code == 401
        for refused in ("", TOKEN, f"Basic {TOKEN}", "Bearer wrong"):
            answer = httpx.get(url, headers={"Authorization": refused} if refused else {})
            assert answer.status_code == 401, refused
            assert family not in answer.text
        for scheme in ("Bearer", "bearer"):
            answer = httpx.get(url, headers={"Authorization": f"{scheme} {TOKEN}"})
            assert answer.status_code == 200 and family in answer.text
    finally:
        proc.terminate()
        proc.wait(30)
