"""`make run`'s Prometheus scrapes token-protected endpoints: the generated config, a real Prometheus."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr

from tests.conftest import free_port, serve_api
from tests.helpers import prometheus_tool
from trustline.cli.local import prometheus
from trustline.shared import metrics_server
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
JOBS = {"trustline-api", "trustline-ingest", "trustline-aggregator"}


@contextmanager
def pipeline_port(token: SecretStr) -> Iterator[int]:
    """A metrics port as the ingest worker and the aggregator serve it."""
    port = free_port()
    server = metrics_server.serve(port=port, host="127.0.0.1", token=token)
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def running(cmd: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(30)


async def up_by_job(http: httpx.AsyncClient, url: str) -> dict[str, str]:
    """`up` per scrape job, as Prometheus reports it."""
    try:
        body = (await http.get(f"{url}/api/v1/query", params={"query": "up"})).json()
    except httpx.HTTPError:
        return {}
    return {r["metric"]["job"]: r["value"][1] for r in body.get("data", {}).get("result", [])}


async def test_generated_config_scrapes_every_protected_endpoint(clean: Settings, tmp_path: Path) -> None:
    prometheus_tool("prometheus")
    token = SecretStr("scrape-s3cret")
    protected = clean.model_copy(update={"metrics_token": token, "state_dir": tmp_path})
    async with serve_api(protected) as api, httpx.AsyncClient(timeout=5) as http:
        assert (await http.get(f"{api}/metrics")).status_code == 401  # really protected
        settings = protected.model_copy(
            update={"api_port": urlsplit(api).port, "prometheus_port": free_port()}
        )
        with pipeline_port(token) as ingest, pipeline_port(token) as aggregator:
            config = prometheus.write_config(settings, ingest_port=ingest, aggregator_port=aggregator)
            cmd = prometheus.command(settings, config)
            assert cmd is not None
            with running(cmd, tmp_path / "prometheus.log") as proc:
                url = f"http://127.0.0.1:{settings.prometheus_port}"
                deadline, up = time.monotonic() + 90, {}
                while time.monotonic() < deadline and up != dict.fromkeys(JOBS, "1"):
                    assert proc.poll() is None, (tmp_path / "prometheus.log").read_text()[-3000:]
                    await asyncio.sleep(1)  # the API answers the scrapes from this event loop
                    up = await up_by_job(http, url)
    assert up == dict.fromkeys(JOBS, "1"), up
