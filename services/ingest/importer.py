"""`trustline import`: publish a file of CloudEvents or OCSF records to their topics, validated first."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import msgspec
from rich.console import Console

from trustline.shared import kafka
from trustline.shared.events import Decoder, Rejection
from trustline.shared.events.decode import refusal
from trustline.shared.events.ocsf import is_ocsf
from trustline.shared.progress import track
from trustline.shared.settings import Settings

Kind = Literal["events", "ocsf"]
CHUNK = 1000


@dataclass
class ImportSummary:
    """What an import published and what it refused, with the first few reasons."""

    accepted: Counter[str] = field(default_factory=Counter)  # per topic
    rejected: Counter[str] = field(default_factory=Counter)  # per reason
    examples: list[str] = field(default_factory=list)


def records(path: Path) -> Iterator[bytes]:
    """The records of a JSON array file or a JSON-lines file, each as JSON bytes."""
    text = path.read_bytes()
    if text.lstrip()[:1] == b"[":
        try:
            items = msgspec.json.decode(text)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            why = refusal(exc).detail if not isinstance(exc, msgspec.DecodeError) else str(exc)
            raise ValueError(f"{path} starts like a JSON array but is not valid JSON: {why}") from exc
        if not isinstance(items, list):
            raise ValueError(f"{path} starts like a JSON array but is not one")
        for item in items:
            yield msgspec.json.encode(item)
        return
    for line in text.splitlines():
        if line.strip():
            yield line


def _refuse(summary: ImportSummary, n: int, why: Rejection) -> None:
    summary.rejected[why.reason] += 1
    if len(summary.examples) < 10:
        summary.examples.append(f"record {n}: {why.reason}: {why.detail}")


async def import_file(settings: Settings, path: Path, kind: Kind, console: Console) -> ImportSummary:
    """Validate every record with the ingest decoder and publish the valid ones; waits for every ack."""
    decoder = Decoder(topic_prefix=settings.topic_prefix, max_bytes=settings.max_event_bytes)
    summary = ImportSummary()
    producer = kafka.producer(settings, linger_ms=20, max_request_size=settings.max_event_bytes * 2)
    await producer.start()
    try:
        with track(console, f"import {path.name}", None) as progress:
            pending: list[asyncio.Future[object]] = []
            for n, value in enumerate(records(path), start=1):
                if kind == "ocsf" and (obj := _loads(value)) is not None and not is_ocsf(obj):
                    _refuse(summary, n, Rejection("invalid_envelope", "not an OCSF record (no class_uid)"))
                    continue
                topic, got = decoder.route(value)
                if isinstance(got, Rejection):
                    _refuse(summary, n, got)
                    continue
                pending.append(await producer.send(topic, value=value, key=got[0].domain_key[1].encode()))
                summary.accepted[topic] += 1
                if len(pending) >= CHUNK:
                    await asyncio.gather(*pending)
                    progress.advance(len(pending))
                    pending.clear()
            await asyncio.gather(*pending)
            progress.advance(len(pending))
    finally:
        await producer.stop()
    return summary


def _loads(value: bytes) -> object:
    try:
        return msgspec.json.decode(value)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None  # the decoder says what is wrong with it
