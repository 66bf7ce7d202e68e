"""Access and bounds: a token-protected /metrics, no docs UI in production, bounded request bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from tests.conftest import serve_api
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
async def prod_api(clean: Settings) -> AsyncIterator[str]:
    """The API in production mode, with a metrics token and a 4 KiB body limit."""
    settings = clean.model_copy(
        update={
            "env": "prod",
            "database_url": SecretStr(clean.asyncpg_dsn()),
            "kafka_bootstrap": clean.bootstrap_servers(),
            "metrics_token": SecretStr("s3cret-token"),
            "api_max_body_bytes": 4096,
        }
    )
    async with serve_api(settings) as url:
        yield url


async def test_production_api_guards(prod_api: str) -> None:
    async with httpx.AsyncClient(base_url=prod_api) as http:
        assert (await http.get("/metrics")).status_code == 401
        assert (await http.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
        assert (
            await http.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
        ).status_code == 200
        assert (await http.get("/docs")).status_code == 404
        big = await http.post(
            "/api/v1/risk-acceptances", content=b"x" * 5000, headers={"content-type": "application/json"}
        )
        assert big.status_code == 413 and big.json()["status"] == 413
        assert big.headers["content-type"] == "application/problem+json"

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b"x" * 1000

        streamed = await http.post(
            "/api/v1/risk-acceptances", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413


async def test_development_api_serves_docs_and_open_metrics(api: str) -> None:
    async with httpx.AsyncClient(base_url=api) as http:
        assert (await http.get("/docs")).status_code == 200
        zipped = await http.get("/metrics", headers={"Accept-Encoding": "gzip"})
        plain = await http.get("/metrics", headers={"Accept-Encoding": "identity"})
        assert zipped.status_code == plain.status_code == 200
        assert zipped.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
        assert "process_cpu_seconds_total" in zipped.text and "process_cpu_seconds_total" in plain.text


async def test_reads_need_the_read_scope_unless_opened_by_config(clean: Settings) -> None:
    async with serve_api(clean) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await http.get("/api/v1/risk-acceptances")).status_code == 401
    opened = clean.model_copy(update={"api_read_auth": False})
    async with serve_api(opened) as url, httpx.AsyncClient(base_url=url) as http:
        listed = await http.get("/api/v1/risk-acceptances")
        assert listed.status_code == 200 and listed.json() == []
        # Writes still need a key whatever the read setting.
        assert (await http.post("/api/v1/risk-acceptances", json={})).status_code == 401


METRICS_CREDENTIALS = [
    ("Bearer s3cret-token", 200),
    ("bearer s3cret-token", 200),  # the scheme is case-insensitive (RFC 7235)
    ("BEARER   s3cret-token", 200),
    ("s3cret-token", 401),  # a bare token is not a credential
    ("Basic s3cret-token", 401),
    ("Bearer", 401),
    ("Bearer s3cret-token-and-more", 401),
    ("Bearers3cret-token", 401),
]


async def test_metrics_token_is_a_bearer_credential(prod_api: str) -> None:
    async with httpx.AsyncClient(base_url=prod_api) as http:
        for authorization, status in METRICS_CREDENTIALS:
            answer = await http.get("/metrics", headers={"Authorization": authorization})
            assert answer.status_code == status, (authorization, answer.text)
            if status == 401:
                assert answer.headers["www-authenticate"].startswith("Bearer")
                assert answer.headers["content-type"] == "application/problem+json"
