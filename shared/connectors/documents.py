"""Bytes in, a parsed document or a refusal out: what every connector surface reads first.

Tool outputs are one JSON document (Trivy, Grype, Graph, KEV) or, for exports and webhook logs written a
record per line, JSON lines (read as an array). Invalid UTF-8, nesting deep enough to exhaust the parser
and NUL characters end as a Refusal with a reason, never an exception.
"""

from __future__ import annotations

from typing import Any

import msgspec

from trustline.shared.events.decode import refusal

from .common import Refusal


def parse(raw: bytes) -> Any | Refusal:
    """The document: one JSON value, or the values of JSON lines as a list."""
    try:
        return _parse(raw)
    except Exception as exc:  # untrusted input: any failure is a refusal with a reason, never a crash
        why = refusal(exc)
        return Refusal("document", why.reason, why.detail)


def _parse(raw: bytes) -> Any | Refusal:
    if b"\\u0000" in raw or b"\x00" in raw:
        return Refusal("document", "invalid_data", "NUL characters are not allowed")
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError as whole:
        lines = [line for line in raw.splitlines() if line.strip()]
        if len(lines) < 2:
            return Refusal("document", "invalid_json", str(whole))
        values: list[Any] = []
        for n, line in enumerate(lines, start=1):
            try:
                values.append(msgspec.json.decode(line))
            except msgspec.DecodeError as exc:
                return Refusal("document", "invalid_json", f"neither JSON nor JSON lines (line {n}: {exc})")
        return values
