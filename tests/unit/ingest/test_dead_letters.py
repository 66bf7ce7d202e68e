"""What a dead letter keeps of a refused record, and what it cuts so that it can always be written."""

from __future__ import annotations

import hashlib

from trustline.ingest.dead_letters import (
    MAX_HEADER_BYTES,
    MAX_KEY_BYTES,
    SAMPLE_BYTES,
    Origin,
    dead_letter,
    minimal,
    unreadable,
)
from trustline.shared.events import Rejection

WHY = Rejection("invalid_json", "not valid UTF-8")


def origin(value: bytes | None = b"{}", key: bytes | None = b"k", headers=()) -> Origin:  # type: ignore[no-untyped-def]
    return Origin("trustline.assets", 2, 41, key, value, headers)


def test_a_small_record_travels_whole_with_why_and_where_first() -> None:
    letter = dead_letter(origin(headers=[("x-tool", b"scanner")]), WHY, max_value_bytes=1024)
    assert (letter.key, letter.value) == (b"k", b"{}")
    assert letter.headers[:5] == [
        ("trustline-dlq-reason", b"invalid_json"),
        ("trustline-dlq-detail", b"not valid UTF-8"),
        ("trustline-dlq-topic", b"trustline.assets"),
        ("trustline-dlq-partition", b"2"),
        ("trustline-dlq-offset", b"41"),
    ]
    assert letter.headers[5:] == [("x-tool", b"scanner")]


def test_an_oversized_value_keeps_a_sample_its_size_and_digest() -> None:
    value = b"x" * (3 * SAMPLE_BYTES) + b"end"
    letter = dead_letter(origin(value), WHY, max_value_bytes=SAMPLE_BYTES * 2)
    headers = dict(letter.headers)
    assert letter.value == value[:SAMPLE_BYTES]
    assert headers["trustline-dlq-truncated"] == b"true"
    assert headers["trustline-dlq-original-size"] == str(len(value)).encode()
    assert headers["trustline-dlq-original-sha256"] == hashlib.sha256(value).hexdigest().encode()


def test_forged_dlq_headers_are_kept_renamed_so_ours_are_the_only_ones() -> None:
    forged = [("trustline-dlq-reason", b"all_good"), ("trustline-dlq-offset", b"0")]
    letter = dead_letter(origin(headers=forged), WHY, max_value_bytes=1024)
    names = [k for k, _ in letter.headers]
    assert (
        names.count("trustline-dlq-reason") == 1
        and dict(letter.headers)["trustline-dlq-reason"] == b"invalid_json"
    )
    assert ("x-original-trustline-dlq-reason", b"all_good") in letter.headers
    assert ("x-original-trustline-dlq-offset", b"0") in letter.headers


def test_huge_keys_and_header_blocks_are_cut_and_counted() -> None:
    key = b"k" * (MAX_KEY_BYTES + 10)
    many = [(f"h{i}", b"v" * 1000) for i in range(2 * MAX_HEADER_BYTES // 1000)]
    letter = dead_letter(origin(key=key, headers=[*many, ("empty", None)]), WHY, max_value_bytes=1024)
    headers = dict(letter.headers)
    assert letter.key == key[:MAX_KEY_BYTES]
    assert headers["trustline-dlq-original-key-size"] == str(len(key)).encode()
    kept = [k for k, _ in letter.headers if k.startswith("h")]
    assert sum(len(k) + 1000 for k in kept) <= MAX_HEADER_BYTES
    assert int(headers["trustline-dlq-dropped-headers"]) == len(many) + 1 - len(kept) - ("empty" in headers)


def test_the_smaller_copy_keeps_our_headers_and_a_sample() -> None:
    value = b"y" * (2 * SAMPLE_BYTES)
    letter = dead_letter(
        origin(value, headers=[("x-tool", b"a"), ("x-run", b"b")]), WHY, max_value_bytes=10**7
    )
    small = minimal(letter)
    headers = dict(small.headers)
    assert small.value == value[:SAMPLE_BYTES] and small.key == b"k"
    assert (
        headers["trustline-dlq-reason"] == b"invalid_json"
        and headers["trustline-dlq-dropped-headers"] == b"2"
    )
    assert headers["trustline-dlq-original-sha256"] == hashlib.sha256(value).hexdigest().encode()
    assert "x-tool" not in headers


def test_a_record_too_large_to_fetch_is_still_dead_lettered_by_position() -> None:
    headers = dict(unreadable("trustline.edr", 4, 99, 2_097_152).headers)
    assert headers["trustline-dlq-reason"] == b"too_large"
    assert (headers["trustline-dlq-topic"], headers["trustline-dlq-partition"], headers["trustline-dlq-offset"]) == (
        b"trustline.edr", b"4", b"99")  # fmt: skip
    assert b"2097152" in headers["trustline-dlq-detail"]
