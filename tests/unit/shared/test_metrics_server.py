"""The pipeline components' metrics port: Prometheus text, behind the metrics token like the API's /metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter
from pydantic import SecretStr

from tests.conftest import free_port
from trustline.shared import heartbeat, metrics_server
from trustline.shared.aio import wait_or_stop


def serving(token: str | None) -> Iterator[str]:
    registry = CollectorRegistry()
    Counter("trustline_test_things", "Things", registry=registry).inc(3)
    port = free_port()
    secret = SecretStr(token) if token is not None else None
    server = metrics_server.serve(port=port, host="127.0.0.1", token=secret, registry=registry)
    try:
        yield f"http://127.0.0.1:{port}/metrics"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def protected() -> Iterator[str]:
    yield from serving("pipe-token")


@pytest.fixture
def open_port() -> Iterator[str]:
    yield from serving(None)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "pipe-token"}, 401),
        ({"Authorization": "Basic pipe-token"}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"Authorization": "Bearer pipe-token"}, 200),
        ({"Authorization": "bearer pipe-token"}, 200),
    ],
)
def test_the_port_wants_the_token_as_a_bearer_credential(
    protected: str, headers: dict[str, str], status: int
) -> None:
    answer = httpx.get(protected, headers=headers)
    assert answer.status_code == status
    if status == 200:
        assert "trustline_test_things_total 3.0" in answer.text
    else:
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.json()["status"] == 401 and "trustline_test" not in answer.text


def test_without_a_token_the_port_is_open(open_port: str) -> None:
    answer = httpx.get(open_port)
    assert answer.status_code == 200 and "trustline_test_things_total 3.0" in answer.text


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("abc", None),
        ("Bearer", None),
        (None, None),
        ("", None),
    ],
)
def test_bearer_credentials(header: str | None, token: str | None) -> None:
    assert metrics_server.bearer_credentials(header) == token


def test_the_probes_follow_the_loops_heartbeat_without_the_token(
    protected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = protected.removesuffix("/metrics")
    clock = [1000.0]
    monkeypatch.setattr(heartbeat, "_clock", lambda: clock[0])
    monkeypatch.setattr(heartbeat, "_started", 1000.0)
    monkeypatch.setattr(heartbeat, "_last", None)
    monkeypatch.setattr(heartbeat, "_ready", False)
    # Just started: alive (the start counts as a beat), not ready until the loop says so.
    assert httpx.get(f"{base}/healthz").status_code == 200
    assert httpx.get(f"{base}/readyz").status_code == 503
    heartbeat.beat(ready=True)
    ready = httpx.get(f"{base}/readyz")
    assert ready.status_code == 200 and ready.json() == {
        "status": "ok",
        "ready": True,
        "seconds_since_beat": 0.0,
    }
    # A deliberate wait beats: 100 s into a backoff, still alive (the limit is the default 120 s here).
    clock[0] += 100.0
    asyncio.run(wait_or_stop(asyncio.Event(), 0.01))
    assert httpx.get(f"{base}/healthz").status_code == 200
    # No beat for 121 s: a loop stuck in a call. Both probes fail, and say so.
    clock[0] += 121.0
    stalled = httpx.get(f"{base}/healthz")
    assert stalled.status_code == 503 and stalled.json()["status"] == "stalled"
    assert stalled.json()["seconds_since_beat"] == 121.0
    assert httpx.get(f"{base}/readyz").status_code == 503
