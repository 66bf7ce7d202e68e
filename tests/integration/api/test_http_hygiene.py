"""HTTP hygiene of every answer: request ids, a problem 500, security headers, no Host-steered redirect,
an optional Host allow-list and one access-log line per request."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from fastapi import Request

from tests.conftest import eventually, serve_api
from trustline.api.app import create_app
from trustline.shared.auth import keys as keys
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
API_CSP = "default-src 'none'; frame-ancestors 'none'"


@pytest.fixture
async def reader(db: asyncpg.Connection) -> dict[str, str]:
    key = await keys.create_key(db, principal="leader", scopes=["read"], now=datetime.now(UTC))
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
async def small_api(clean: Settings) -> AsyncIterator[str]:
    """The API with a 4 KiB body limit (cheap 413s)."""
    async with serve_api(clean.model_copy(update={"api_max_body_bytes": 4096})) as url:
        yield url


def hardened(answer: httpx.Response, csp: str = API_CSP) -> None:
    """The headers every answer carries."""
    h = answer.headers
    assert h["x-content-type-options"] == "nosniff", answer.url
    assert h["referrer-policy"] == "no-referrer", answer.url
    assert h["x-frame-options"] == "DENY", answer.url
    assert h["cache-control"] == "no-store", answer.url
    assert h["content-security-policy"] == csp, answer.url
    assert h["x-request-id"], answer.url


async def test_every_answer_carries_the_security_headers(small_api: str, reader: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=small_api) as http:
        answers = [
            await http.get("/healthz"),
            await http.get("/metrics"),
            await http.get("/openapi.json"),
            await http.get("/api/v1/kpis", headers=reader),  # 200 JSON
            await http.get("/api/v1/kpis"),  # 401
            await http.get("/api/v1/kpis", params={"at": "someday"}, headers=reader),  # 422
            await http.get("/nowhere"),  # 404
            await http.delete("/healthz"),  # 405
            await http.post("/api/v1/events", content=b"x" * 5000),  # 413 from the body limit
        ]
        assert [a.status_code for a in answers] == [200, 200, 200, 200, 401, 422, 404, 405, 413]
        for answer in answers:
            hardened(answer)


async def test_docs_page_allows_only_what_swagger_ui_loads(api: str) -> None:
    async with httpx.AsyncClient(base_url=api) as http:
        page = await http.get("/docs")
    assert page.status_code == 200
    csp = dict(d.strip().split(" ", 1) for d in page.headers["content-security-policy"].split(";"))
    hardened(page, csp=page.headers["content-security-policy"])
    assert csp["default-src"] == "'none'" and csp["frame-ancestors"] == "'none'"
    assert "unsafe" not in page.headers["content-security-policy"]
    # Every script and stylesheet the page names is allowed by URL, and its inline script by hash.
    for url in re.findall(r'<script src="([^"]+)"', page.text):
        assert url in csp["script-src"].split()
    for url in re.findall(r'<link type="text/css" rel="stylesheet" href="([^"]+)"', page.text):
        assert url in csp["style-src"].split()
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.S)
    assert inline
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp["script-src"].split()
    assert csp["connect-src"] == "'self'"  # the page fetches /openapi.json and calls the API


async def test_request_ids_are_echoed_when_sane_and_generated_otherwise(api: str) -> None:
    async with httpx.AsyncClient(base_url=api) as http:
        first, second = await http.get("/healthz"), await http.get("/healthz")
        assert GENERATED_ID.match(first.headers["x-request-id"])
        assert first.headers["x-request-id"] != second.headers["x-request-id"]
        for sane in ("abc-123", "0f8fad5b-d9cb-469f-a165-70867728950e", "Root=1-67891233-abcdef012345678912"):
            echoed = await http.get("/healthz", headers={"X-Request-ID": sane})
            assert echoed.headers["x-request-id"] == sane
        for insane in ("x" * 200, "a b", "<script>", "id;drop", ""):
            replaced = await http.get("/healthz", headers={"X-Request-ID": insane})
            assert GENERATED_ID.match(replaced.headers["x-request-id"]), insane


async def test_an_unexpected_error_is_a_problem_500_naming_only_the_request_id(
    api: str, owner_db: asyncpg.Connection, reader: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    # A real failure the code does not expect: the table behind a drill-down is gone (renamed by its owner).
    await owner_db.execute("ALTER TABLE incident_versions RENAME TO incident_versions_away")
    try:
        async with httpx.AsyncClient(base_url=api, headers=reader) as http:
            with caplog.at_level(logging.INFO):
                answer = await http.get(
                    "/api/v1/gaps/incidents-open",
                    params={"at": "2026-10-01T00:00:00Z"},
                    headers={"X-Request-ID": "trace-500"},
                )
    finally:
        await owner_db.execute("ALTER TABLE incident_versions_away RENAME TO incident_versions")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    hardened(answer)
    body = answer.json()
    assert body["status"] == 500 and body["request_id"] == "trace-500"
    assert answer.headers["x-request-id"] == "trace-500" and "trace-500" in body["detail"]
    assert "incident_versions" not in answer.text and "Error" not in answer.text.replace("Server Error", "")
    [crash] = [r for r in caplog.records if r.exc_info and "trace-500" in r.getMessage()]
    assert crash.levelno == logging.ERROR and crash.exc_info is not None
    assert "incident_versions" in str(crash.exc_info[1])  # the traceback is in the log, not the answer


def written(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "trustline.api.access"]


async def access_lines(caplog: pytest.LogCaptureFixture, count: int) -> list[str]:
    """The access-log lines once `count` are in (each is written as its request ends, after the answer)."""
    await eventually(lambda: asyncio.sleep(0, len(written(caplog)) >= count))
    lines = written(caplog)
    assert len(lines) == count, lines
    return lines


async def test_one_access_line_per_request_without_the_query_string(
    clean: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="trustline.api.access")
    app = create_app(clean)

    @app.get("/test/who")
    async def who(request: Request) -> dict[str, str]:
        request.state.principal = "alice"  # what the key check does once it has found the key
        return {}

    async with serve_api(clean, app=app) as url, httpx.AsyncClient(base_url=url) as http:
        await http.get("/api/v1/kpis", params={"token": "hunter2"}, headers={"X-Request-ID": "r-1"})
        await http.get("/test/who", headers={"X-Request-ID": "r-2"})
        anonymous, named = await access_lines(caplog, 2)
    assert re.fullmatch(r"GET /api/v1/kpis 401 \d+\.\dms request_id=r-1 principal=-", anonymous), anonymous
    assert re.fullmatch(r"GET /test/who 200 \d+\.\dms request_id=r-2 principal=alice", named), named
    assert "hunter2" not in caplog.text


async def test_access_line_names_the_principal_of_a_presented_key(
    api: str, reader: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="trustline.api.access")
    async with httpx.AsyncClient(base_url=api, headers=reader) as http:
        assert (await http.get("/api/v1/kpis")).status_code == 200
        [line] = await access_lines(caplog, 1)
    assert line.endswith("principal=leader"), line


async def test_access_line_escapes_control_characters_in_the_path(
    api: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="trustline.api.access")
    async with httpx.AsyncClient(base_url=api) as http:
        await http.get("/x%0Afake%20line%1b[31m")
        [line] = await access_lines(caplog, 1)
    assert "\n" not in line and "\x1b" not in line and "/x\\nfake line\\x1b[31m" in line, line


async def test_no_redirect_takes_its_host_from_the_request(api: str) -> None:
    async with httpx.AsyncClient(base_url=api, headers={"Host": "evil.example"}) as http:
        for path in ("/docs/", "/api/v1/kpis/", "/healthz/", "/metrics/"):
            answer = await http.get(path)
            assert "evil.example" not in answer.headers.get("location", ""), (path, answer.headers)
            assert answer.status_code == 404 and answer.json()["status"] == 404, path


async def test_allowed_hosts_refuse_other_hosts_with_a_problem(clean: Settings) -> None:
    settings = clean.model_copy(update={"api_allowed_hosts": ["api.example", "*.trustline.test"]})
    async with serve_api(settings) as url, httpx.AsyncClient(base_url=url) as http:
        for host in ("api.example", "api.example:8000", "eu.trustline.test", "a.b.trustline.test:443"):
            assert (await http.get("/healthz", headers={"Host": host})).status_code == 200, host
        for host in ("evil.example", "trustline.test.evil.example", "api.example.evil", "127.0.0.1"):
            refused = await http.get("/healthz", headers={"Host": host})
            assert refused.status_code == 400, host
            assert refused.headers["content-type"] == "application/problem+json"
            hardened(refused)
