"""Connections that never finish their request headers are closed; malformed requests get a problem 400."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from tests.conftest import serve_api
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
HEADER_TIMEOUT = 1.0
GENEROUS = 20.0  # far above the 1 s cut-off: a bound for "it was closed", not a latency figure


@pytest.fixture
async def address(clean: Settings) -> AsyncIterator[tuple[str, int]]:
    settings = clean.model_copy(update={"api_header_timeout_seconds": HEADER_TIMEOUT})
    async with serve_api(settings) as url:
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        yield parts.hostname, parts.port


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection (fails if it keeps it open)."""
    return await asyncio.wait_for(reader.read(), GENEROUS)


async def test_half_a_request_line_is_cut_off(address: tuple[str, int]) -> None:
    # A slow client that completes its headers within the limit is served...
    reader, writer = await asyncio.open_connection(*address)
    for piece in (b"GET /healthz HT", b"TP/1.1\r\nHost: t\r\n", b"Connection: close\r\n\r\n"):
        writer.write(piece)
        await writer.drain()
        await asyncio.sleep(0.1)
    answer = await closed_by_server(reader)  # Connection: close
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b'{"status":"ok"}')
    # ...one that never does is answered 408 and cut off.
    reader, writer = await asyncio.open_connection(*address)
    writer.write(b"GET /healthz HT")
    await writer.drain()
    answer = await closed_by_server(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"application/problem+json" in answer


async def test_a_silent_connection_is_cut_off(address: tuple[str, int]) -> None:
    reader, writer = await asyncio.open_connection(*address)
    assert await closed_by_server(reader) == b""  # nothing was asked: nothing to answer
    writer.close()


async def test_incomplete_headers_after_a_kept_alive_request_are_cut_off(address: tuple[str, int]) -> None:
    reader, writer = await asyncio.open_connection(*address)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
    await writer.drain()
    first = await asyncio.wait_for(reader.readuntil(b'{"status":"ok"}'), GENEROUS)
    assert first.startswith(b"HTTP/1.1 200 ")
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ")  # the second request never ends
    await writer.drain()
    assert (await closed_by_server(reader)).startswith(b"HTTP/1.1 408 ")
    writer.close()


async def test_a_malformed_request_gets_a_problem_400(address: tuple[str, int]) -> None:
    reader, writer = await asyncio.open_connection(*address)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Bad: a\x01b\r\n\r\n")
    await writer.drain()
    answer = await closed_by_server(reader)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and b"content-type: application/problem+json" in head
    assert b"x-content-type-options: nosniff" in head and b"x-request-id: " in head
    assert json.loads(body)["status"] == 400
