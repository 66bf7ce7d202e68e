"""Dead letters: a refused record with why and where it came from, always small enough to be written.

The copy keeps the original key, value and headers. Only what could stop the dead letter from being
written is cut, and then the cut is said in headers: a value over the record limit keeps its first
64 KiB plus its size and SHA-256; an oversized key or header block likewise. Headers a producer sent
under our own `trustline-dlq-` names are kept, renamed `x-original-...`, so ours are the only ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from trustline.shared.events import Rejection

PREFIX: Final = "trustline-dlq-"
RENAMED: Final = "x-original-"
SAMPLE_BYTES: Final = 64 * 1024  # what a truncated value keeps
MAX_KEY_BYTES: Final = 4 * 1024
MAX_HEADER_BYTES: Final = 64 * 1024
Headers = Sequence[tuple[str, bytes | None]]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a refused record came from."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """What goes to `<topic>.dlq`."""

    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


def _notes(data: bytes, what: str = "") -> list[tuple[str, bytes]]:
    """Headers saying that `data` (the value, or what="key-") was cut, and what it was."""
    return [
        (f"{PREFIX}{what}truncated", b"true"),
        (f"{PREFIX}original-{what}size", str(len(data)).encode()),
        (f"{PREFIX}original-{what}sha256", hashlib.sha256(data).hexdigest().encode()),
    ]


def _originals(headers: Headers, budget: int) -> list[tuple[str, bytes]]:
    kept: list[tuple[str, bytes]] = []
    used = dropped = 0
    for name, value in headers:
        name = RENAMED + name if name.startswith(PREFIX) else name
        data = value or b""
        used += len(name) + len(data)
        if used > budget:
            dropped += 1
            continue
        kept.append((name, data))
    if dropped:
        kept.append((f"{PREFIX}dropped-headers", str(dropped).encode()))
    return kept


def dead_letter(origin: Origin, why: Rejection, *, max_value_bytes: int) -> DeadLetter:
    """The dead letter of a refused record: values over `max_value_bytes` keep their first 64 KiB."""
    headers = [
        (f"{PREFIX}reason", why.reason.encode()),
        (f"{PREFIX}detail", why.detail[:1000].encode("utf-8", "replace")),
        (f"{PREFIX}topic", origin.topic.encode()),
        (f"{PREFIX}partition", str(origin.partition).encode()),
        (f"{PREFIX}offset", str(origin.offset).encode()),
    ]
    value, key = origin.value, origin.key
    if value is not None and len(value) > max_value_bytes:
        headers += _notes(value)
        value = value[:SAMPLE_BYTES]
    if key is not None and len(key) > MAX_KEY_BYTES:
        headers += _notes(key, "key-")
        key = key[:MAX_KEY_BYTES]
    return DeadLetter(key, value, [*headers, *_originals(origin.headers, MAX_HEADER_BYTES)])


def minimal(letter: DeadLetter) -> DeadLetter:
    """A smaller copy for a broker that refused the first: a value sample, our headers, no others."""
    headers = [(k, v) for k, v in letter.headers if k.startswith(PREFIX)]
    value = letter.value
    if value is not None and len(value) > SAMPLE_BYTES:
        headers += _notes(value)
        value = value[:SAMPLE_BYTES]
    counted = f"{PREFIX}dropped-headers"
    earlier = sum(int(v) for k, v in headers if k == counted)
    if dropped := earlier + sum(1 for k, _ in letter.headers if not k.startswith(PREFIX)):
        headers = [(k, v) for k, v in headers if k != counted] + [(counted, str(dropped).encode())]
    return DeadLetter(letter.key, value, headers)


def unreadable(topic: str, partition: int, offset: int, fetch_bytes: int) -> DeadLetter:
    """A dead letter for a record the client could not fetch at all (larger than its fetch size)."""
    detail = f"the record is larger than the consumer's fetch size ({fetch_bytes} bytes): fetch it by offset"
    return DeadLetter(
        None,
        None,
        [
            (f"{PREFIX}reason", b"too_large"),
            (f"{PREFIX}detail", detail.encode()),
            (f"{PREFIX}topic", topic.encode()),
            (f"{PREFIX}partition", str(partition).encode()),
            (f"{PREFIX}offset", str(offset).encode()),
        ],
    )
