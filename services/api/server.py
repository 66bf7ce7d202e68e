"""How the API is served: uvicorn's httptools protocol with a deadline for request headers.

uvicorn arms its keep-alive timer only once a response is sent, so a client that connects, or starts a
request, and never finishes its headers holds a connection (and a file descriptor) for as long as it likes.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from trustline.shared.settings import Settings

from .errors import PROBLEM, problem
from .middleware import API_CSP, SECURITY_HEADERS


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """Closes a connection whose request headers are not complete `header_timeout` seconds after it opened
    or after the request's first byte (408 when a request had begun); parse errors get a problem 400."""

    header_timeout = 10.0
    _deadline: asyncio.TimerHandle | None = None
    _in_headers = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's headers."""
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock."""
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        """Start the clock for a kept-alive connection's next request (the first one's is running)."""
        super().on_message_begin()
        self._in_headers = True
        self._arm()

    def on_headers_complete(self) -> None:
        """Stop the clock: the request is in, however long its body and answer take."""
        self._in_headers = False
        self._disarm()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request it cannot parse, as problem details."""
        self._answer_and_close(400, "Bad Request", msg)

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._in_headers:
            detail = f"the request headers did not arrive within {self.header_timeout:g} seconds"
            self._answer_and_close(408, "Request Timeout", detail)
        else:
            self.transport.close()

    def _answer_and_close(self, status: int, title: str, detail: str) -> None:
        body = json.dumps(problem(status, title, detail, instance="")).encode()
        headers = [
            *self.server_state.default_headers,
            (b"content-type", PROBLEM.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            (b"x-request-id", uuid.uuid4().hex.encode()),
            *SECURITY_HEADERS,
            (b"content-security-policy", API_CSP),
        ]
        head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        self.transport.write(STATUS_LINE[status] + head + b"\r\n" + body)
        self.transport.close()


def http_protocol(*, header_timeout: float) -> type[HeaderDeadlineProtocol]:
    """The protocol class to pass to uvicorn as `http=`, with its deadline."""

    class Configured(HeaderDeadlineProtocol):
        pass

    Configured.header_timeout = header_timeout
    return Configured


def config(app: ASGIApp, settings: Settings, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration for the API (`options` override the listen address, log level, ...)."""
    return uvicorn.Config(
        app,
        **{
            "host": settings.api_host,
            "port": settings.api_port,
            "http": http_protocol(header_timeout=settings.api_header_timeout_seconds),
            "server_header": False,
            **options,
        },
    )
