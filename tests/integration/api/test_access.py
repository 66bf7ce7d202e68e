"""Access and bounds: a token-protected /metrics, no docs UI in production, bounded request bodies, API keys."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.conftest import serve_api
from trustline.api.app import create_app
from trustline.shared.auth import keys as keys
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


async def _key(db: asyncpg.Connection, principal: str, *scopes: str, **extra: Any) -> str:
    return await keys.create_key(db, principal=principal, scopes=list(scopes), now=datetime.now(UTC), **extra)


async def test_one_key_per_request_and_no_header_hides_another(api: str, db: asyncpg.Connection) -> None:
    key, other = await _key(db, "auditor", "read"), await _key(db, "auditor", "read")
    async with httpx.AsyncClient(base_url=api) as http:
        for authorization in ("", "Bearer", "Basic dXNlcjpwYXNz", "Token abc"):
            got = await http.get(
                "/api/v1/risk-acceptances", headers={"Authorization": authorization, "X-API-Key": key}
            )
            assert got.status_code == 200, (authorization, got.text)
        # What `curl -H "Authorization: Bearer $UNSET"` sends; httpx refuses to, so over a raw socket.
        assert await raw_status(api, b"Authorization: Bearer \r\nX-API-Key: " + key.encode()) == 200
        same = await http.get(
            "/api/v1/risk-acceptances", headers={"Authorization": f"Bearer {key}", "X-API-Key": key}
        )
        assert same.status_code == 200
        two = await http.get(
            "/api/v1/risk-acceptances", headers={"Authorization": f"Bearer {key}", "X-API-Key": other}
        )
        assert two.status_code == 400 and "more than one API key" in two.json()["detail"]
        assert two.headers["content-type"] == "application/problem+json"
        none = await http.get("/api/v1/risk-acceptances", headers={"Authorization": "Basic dXNlcjpwYXNz"})
        assert none.status_code == 401 and "send an API key" in none.json()["detail"]


async def raw_status(base_url: str, headers: bytes) -> int:
    """The status of a GET of the registry list sent byte for byte, with `headers`."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"GET /api/v1/risk-acceptances HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + headers + b"\r\n\r\n"
    )
    await writer.drain()
    status_line = (await reader.read()).split(b"\r\n", 1)[0]
    writer.close()
    await writer.wait_closed()
    return int(status_line.split()[1])


async def test_expired_and_revoked_keys_say_so(
    api: str, db: asyncpg.Connection, owner_db: asyncpg.Connection
) -> None:
    expiring = await _key(db, "auditor", "read", expires_at=datetime.now(UTC) + timedelta(days=1))
    revoked = await _key(db, "auditor", "read")
    await owner_db.execute("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE prefix = $1",
                     expiring.split("_")[1])  # fmt: skip
    assert await keys.revoke_key(db, prefix=revoked.split("_")[1], now=datetime.now(UTC))
    async with httpx.AsyncClient(base_url=api) as http:
        expired = await http.get("/api/v1/risk-acceptances", headers={"X-API-Key": expiring})
        assert expired.status_code == 401 and "expired at" in expired.json()["detail"]
        gone = await http.get("/api/v1/risk-acceptances", headers={"X-API-Key": revoked})
        assert gone.status_code == 401 and "revoked at" in gone.json()["detail"]
        unknown = await http.get(
            "/api/v1/risk-acceptances", headers={"X-API-Key": revoked.rsplit("_", 1)[0] + "_" + "A" * 43}
        )
        assert unknown.status_code == 401 and "unknown" in unknown.json()["detail"]


async def test_last_use_is_recorded_at_most_once_a_minute(api: str, db: asyncpg.Connection) -> None:
    key = await _key(db, "auditor", "read")
    prefix = key.split("_")[1]

    async def last_used() -> datetime | None:
        return await db.fetchval("SELECT last_used_at FROM api_keys WHERE prefix = $1", prefix)  # type: ignore[no-any-return]

    assert await last_used() is None
    async with httpx.AsyncClient(base_url=api, headers={"X-API-Key": key}) as http:
        assert (await http.get("/api/v1/risk-acceptances")).status_code == 200
        first = await last_used()
        assert first is not None
        assert (await http.get("/api/v1/risk-acceptances")).status_code == 200
        assert await last_used() == first  # within the minute: no write
        await db.execute(
            "UPDATE api_keys SET last_used_at = now() - interval '2 minutes' WHERE prefix = $1", prefix
        )
        stale = await last_used()
        assert (await http.get("/api/v1/risk-acceptances")).status_code == 200
        refreshed = await last_used()
        assert stale is not None and refreshed is not None and refreshed > stale


async def test_the_authenticated_principal_is_on_the_request_state(
    clean: Settings, db: asyncpg.Connection
) -> None:
    seen: list[object] = []

    class Capture:
        """Reads request.state.principal after the app answered, as an access log does."""

        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await self.app(scope, receive, send)
            if scope["type"] == "http":
                seen.append(scope.get("state", {}).get("principal"))

    app = create_app(clean)
    app.add_middleware(Capture)
    key = await _key(db, "Auditor", "read")
    async with serve_api(clean, app=app) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await http.get("/api/v1/risk-acceptances", headers={"X-API-Key": key})).status_code == 200
        forbidden = await http.post("/api/v1/risk-acceptances", json={}, headers={"X-API-Key": key})
        assert forbidden.status_code == 403
        assert (await http.get("/api/v1/risk-acceptances")).status_code == 401
    assert seen == ["auditor", "auditor", None]


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
