"""Who submitted a record: `http:<key principal>` for HTTP ingest, else `kafka:<topic>`.

HTTP ingest publishes to the same topics as any Kafka producer, so a header naming the submitter could
be forged by anyone who may write to a topic. The API therefore signs it (HMAC-SHA256 under a secret the
API and the ingest workers share); a worker believes the header only when the signature matches.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Final

SUBMITTER_HEADER: Final = "trustline-submitted-by"
SIGNATURE_HEADER: Final = "trustline-submitted-sig"


def signature(secret: bytes, *, principal: str, topic: str, value: bytes) -> str:
    """The HMAC that binds a principal to one record's topic and value."""
    message = b"\0".join((principal.encode(), topic.encode(), hashlib.sha256(value).digest()))
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def signed_headers(
    secret: bytes | None, *, principal: str, topic: str, value: bytes
) -> list[tuple[str, bytes]]:
    """The headers HTTP ingest adds to a record it publishes (unsigned when no secret is configured)."""
    headers = [(SUBMITTER_HEADER, principal.encode())]
    if secret is not None:
        sig = signature(secret, principal=principal, topic=topic, value=value)
        headers.append((SIGNATURE_HEADER, sig.encode()))
    return headers


def submitter(
    secret: bytes | None, *, topic: str, value: bytes | None, headers: Sequence[tuple[str, bytes | None]]
) -> str:
    """`http:<principal>` when the record carries a valid signed attribution, else `kafka:<topic>`."""
    found = {k: v for k, v in headers if k in (SUBMITTER_HEADER, SIGNATURE_HEADER)}
    principal, sig = found.get(SUBMITTER_HEADER), found.get(SIGNATURE_HEADER)
    if secret is None or not principal or not sig or value is None:
        return f"kafka:{topic}"
    try:
        name = principal.decode()
    except UnicodeDecodeError:
        return f"kafka:{topic}"
    expected = signature(secret, principal=name, topic=topic, value=value)
    return f"http:{name}" if hmac.compare_digest(expected.encode(), sig) else f"kafka:{topic}"
