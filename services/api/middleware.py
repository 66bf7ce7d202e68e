"""HTTP hygiene around every request: security headers, request ids, access log, the Host allow-list.

Plain ASGI middleware (no response buffering), so scrapes and streamed bodies pass straight through.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import send_problem

log = logging.getLogger("trustline.api")
access_log = logging.getLogger("trustline.api.access")

# Answers are data, never pages to render, frame or cache; a route may set its own CSP (the docs page).
API_CSP = b"default-src 'none'; frame-ancestors 'none'"
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
)
# Incoming ids are echoed only when they cannot break a log line or a header: ids, UUIDs, trace ids.
_SANE_ID = re.compile(rb"[A-Za-z0-9._:=+/-]{1,128}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _printable(text: str) -> str:
    """`text` with control characters escaped, so a request cannot forge log lines."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return bytes(value)
    return None


class _HttpMiddleware:
    """An ASGI middleware that acts on HTTP requests and passes everything else through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one HTTP request."""
        raise NotImplementedError


class SecurityHeaders(_HttpMiddleware):
    """Adds the security headers to every answer, and the API's strict CSP unless one is set."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers to the answer's start."""

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or ())
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", API_CSP))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, secured)


class RequestContext(_HttpMiddleware):
    """A request id on every answer, one access-log line per request, and a problem 500 for a crash."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Identify, log and guard one request."""
        given = _header(scope, b"x-request-id")
        request_id = given.decode() if given and _SANE_ID.fullmatch(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started, status = time.perf_counter(), 0

        async def identified(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*(message.get("headers") or ()), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, identified)
        except Exception:
            await _crashed(scope, identified, request_id, answered=status != 0)
        finally:
            access_log.info(
                "%s %s %d %.1fms request_id=%s principal=%s",
                scope["method"],
                _printable(scope["path"]),
                status or 500,
                (time.perf_counter() - started) * 1000,
                request_id,
                _printable(str(state.get("principal") or "-")),
            )


async def _crashed(scope: Scope, send: Send, request_id: str, *, answered: bool) -> None:
    """Log the error being handled with its traceback; answer a 500 naming only the request id."""
    path = _printable(scope["path"])
    log.exception("unhandled error in %s %s (request_id=%s)", scope["method"], path, request_id)
    if answered:  # the answer has begun: the server drops the connection, which the client notices
        return
    detail = f"an unexpected error occurred; quote request id {request_id} when reporting it"
    await send_problem(
        send, 500, "Internal Server Error", detail, instance=scope["path"], request_id=request_id
    )


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """True when `host` (port ignored) is listed, or under a listed `*.domain`."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.lower()
    for pattern in allowed:
        pattern = pattern.lower()
        if name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:])):
            return True
    return False


class AllowedHosts:
    """Refuses (400 problem) requests whose Host header is not in TRUSTLINE_API_ALLOWED_HOSTS."""

    def __init__(self, app: ASGIApp, *, hosts: Sequence[str]) -> None:
        self.app = app
        self.hosts = list(hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = (_header(scope, b"host") or b"").decode("latin-1")
            if not host_allowed(host, self.hosts):
                detail = "this server does not answer for that Host header"
                await send_problem(send, 400, "Invalid host header", detail, instance=scope["path"])
                return
        await self.app(scope, receive, send)
