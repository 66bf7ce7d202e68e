"""The HTTP API from a terminal: commands that change the registry act as their key's principal.

Standard library only (no HTTP client in the runtime dependencies). Redirects are not followed, so a
key is never replayed to another address.
"""

from __future__ import annotations

import ipaddress
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from trustline.shared.settings import Settings

from .output import escape

TIMEOUT_SECONDS = 30.0
_KEY_CHARACTERS = re.compile(r"[\x21-\x7e]+")


class ApiError(Exception):
    """A call the API refused or that did not reach it; the message is for the person at the terminal."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


@dataclass(frozen=True, slots=True)
class Api:
    """One API address and the key presented to it (None: no key, for open reads)."""

    url: str
    key: str | None

    def call(
        self, method: str, path: str, *, body: object = None, params: dict[str, object] | None = None
    ) -> Any:
        """The JSON answer of one call; ApiError with the problem's detail when refused."""
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        headers = {"Accept": "application/json"}
        if self.key is not None:
            headers["Authorization"] = f"Bearer {self.key}"
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        url = self.url.rstrip("/") + path + (f"?{query}" if query else "")
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
                return json.load(response)
        except json.JSONDecodeError as exc:
            raise ApiError(f"{url} did not answer JSON: is it the Trustline API?") from exc
        except urllib.error.HTTPError as exc:
            raise ApiError(_problem(exc)) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiError(
                f"cannot reach the API at {self.url} ({reason}); is `trustline api` running? (--api-url)"
            ) from exc


def path(*parts: str) -> str:
    """An API path from its segments, each quoted."""
    return "".join("/" + quote(p, safe="") for p in parts)


def _problem(exc: urllib.error.HTTPError) -> str:
    try:
        problem = json.loads(exc.read() or b"{}")
    except ValueError:
        problem = {}
    detail = str(problem.get("detail") or exc.reason) if isinstance(problem, dict) else str(exc.reason)
    errors = problem.get("errors") if isinstance(problem, dict) else None
    for e in errors if isinstance(errors, list) else []:
        if isinstance(e, dict):
            where = ".".join(str(p) for p in e.get("loc", []) if p != "body")
            detail += f"; {where}: {e.get('msg') or e.get('detail') or e.get('reason')}"
    return escape(f"{exc.code}: {detail}")


def default_url(settings: Settings) -> str:
    """The configured API URL, or the API's own listen address (a wildcard address means this host)."""
    if settings.api_url:
        return settings.api_url
    host = settings.api_host if settings.api_host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{settings.api_port}"


def read_key(key_file: Path | None, settings: Settings) -> str | None:
    """The key from `key_file` (its first line), else TRUSTLINE_API_KEY, else None."""
    key = _key_text(key_file) if key_file is not None else None
    if key is None and settings.api_key is not None:
        key = settings.api_key.get_secret_value().strip()
    if key is not None and not _KEY_CHARACTERS.fullmatch(key):
        raise ApiError("the API key holds characters no key has (printable ASCII without spaces)")
    return key


def _key_text(key_file: Path) -> str:
    try:
        lines = key_file.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ApiError(f"cannot read the key file {key_file}: {exc}") from exc
    if not lines or not lines[0].strip():
        raise ApiError(f"the key file {key_file} is empty")
    return lines[0].strip()


def check_url(url: str, settings: Settings, *, with_key: bool) -> None:
    """ApiError for a URL that is not http(s), or in prod for a key sent over plain HTTP to another host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(f"the API URL must be http(s)://host[:port], got {url!r}")
    if not with_key or settings.env != "prod" or parts.scheme == "https":
        return
    host = parts.hostname
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ApiError(
            f"TRUSTLINE_ENV=prod: refusing to send an API key over plain HTTP to {host}; use https"
        )
