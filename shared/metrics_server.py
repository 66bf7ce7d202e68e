"""A process's own Prometheus metrics on a port of its own, behind TRUSTLINE_METRICS_TOKEN when it is set.

The API's /metrics and the pipeline ports accept the token the same way (`authorized`): an
`Authorization` header with the `Bearer` scheme, in any case (RFC 7235); a bare token is refused.
The same port answers the probes, `/healthz` (the loop's heartbeat is fresh) and `/readyz` (and the
component has reached its servers), without the token: kubelet sends none, and they reveal no data.
"""

from __future__ import annotations

import hmac
import json
import socket
import threading
from collections.abc import Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app
from pydantic import SecretStr

from . import heartbeat

CHALLENGE = 'Bearer realm="metrics"'
HOW = "send `Authorization: Bearer <TRUSTLINE_METRICS_TOKEN>`"


def bearer_credentials(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None for any other scheme or none."""
    scheme, _, credentials = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip() or None


def authorized(header: str | None, token: SecretStr | None) -> bool:
    """True when no token is configured, or `header` presents it as a bearer token (constant time)."""
    if token is None:
        return True
    given = bearer_credentials(header)
    return given is not None and hmac.compare_digest(given.encode(), token.get_secret_value().encode())


PROBES = {"/healthz": "alive", "/readyz": "ready"}
DEFAULT_MAX_AGE = 120.0


def _probe(path: str, max_age: float, start_response: StartResponse) -> Iterable[bytes]:
    state = heartbeat.health(max_age)
    ok = getattr(state, PROBES[path])
    body = json.dumps(state.body()).encode()
    start_response(
        "200 OK" if ok else "503 Service Unavailable",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ],
    )
    return [body]


def guarded(
    app: WSGIApplication, token: SecretStr | None, max_age: float = DEFAULT_MAX_AGE
) -> WSGIApplication:
    """`app` behind the token (anything else gets a 401 problem with a Bearer challenge); the probes open."""
    refusal = json.dumps(
        {"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": f"/metrics: {HOW}"}
    ).encode()

    def check(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") in PROBES:
            return _probe(environ["PATH_INFO"], max_age, start_response)
        if authorized(environ.get("HTTP_AUTHORIZATION"), token):
            return app(environ, start_response)
        start_response(
            "401 Unauthorized",
            [
                ("Content-Type", "application/problem+json"),
                ("Content-Length", str(len(refusal))),
                ("WWW-Authenticate", CHALLENGE),
                ("Cache-Control", "no-store"),
            ],
        )
        return [refusal]

    return check


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged (one line every few seconds per scraper)."""


def serve(
    *,
    port: int,
    host: str,
    token: SecretStr | None,
    registry: CollectorRegistry = REGISTRY,
    max_age: float = DEFAULT_MAX_AGE,
) -> WSGIServer:
    """Serve `registry` and the probes (a heartbeat older than `max_age` is stalled) on host:port from a
    daemon thread; `shutdown()` on the result stops it."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]

    class Server(_Server):
        address_family = family

    server = make_server(
        host, port, guarded(make_wsgi_app(registry), token, max_age), Server, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, name=f"metrics-{port}", daemon=True).start()
    return server
