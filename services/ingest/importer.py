"""`trustline import`: publish a file to the topics, validated first: CloudEvents, OCSF records, or a tool's
own output through its connector (with full-scan reconciliation), and the known-exploited catalog."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import msgspec
from rich.console import Console

from trustline.shared import db, kafka
from trustline.shared.connectors import TOOLS, Options, Refusal
from trustline.shared.connectors.common import encode
from trustline.shared.connectors.documents import parse
from trustline.shared.connectors.fullscan import reconcile
from trustline.shared.connectors.kev import map_kev
from trustline.shared.connectors.kev_catalog import store_catalog
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
    # Connectors: records read but deliberately not mapped (by why), closing events, notes for the reader.
    ignored: Counter[str] = field(default_factory=Counter)
    closed: int = 0
    notes: list[str] = field(default_factory=list)


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


def _refuse(summary: ImportSummary, n: int | str, why: Rejection | Refusal) -> None:
    summary.rejected[why.reason] += 1
    if len(summary.examples) < 10:
        summary.examples.append(f"record {n}: {why.reason}: {why.detail}")


async def import_file(settings: Settings, path: Path, kind: Kind, console: Console) -> ImportSummary:
    """Validate every record with the ingest decoder and publish the valid ones; waits for every ack."""
    summary = ImportSummary()

    def checked() -> Iterator[tuple[int | str, bytes | Rejection]]:
        for n, value in enumerate(records(path), start=1):
            if kind == "ocsf" and (obj := _loads(value)) is not None and not is_ocsf(obj):
                yield n, Rejection("invalid_envelope", "not an OCSF record (no class_uid)")
            else:
                yield n, value

    await _publish(settings, checked(), summary, console, f"import {path.name}")
    return summary


async def _publish(
    settings: Settings,
    values: Iterable[tuple[int | str, bytes | Rejection | Refusal]],
    summary: ImportSummary,
    console: Console,
    label: str,
) -> None:
    """Decode every value as ingest does, publish the valid ones and wait for every ack; count the rest."""
    decoder = Decoder(topic_prefix=settings.topic_prefix, max_bytes=settings.max_event_bytes)
    producer = kafka.producer(settings, linger_ms=20, max_request_size=settings.max_event_bytes * 2)
    await producer.start()
    try:
        with track(console, label, None) as progress:
            pending: list[asyncio.Future[object]] = []
            for n, value in values:
                if not isinstance(value, bytes):
                    _refuse(summary, n, value)
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


async def import_tool(
    settings: Settings, tool: str, raw: bytes, opts: Options, console: Console
) -> ImportSummary:
    """Map a tool's output with its connector, add a full scan's closing events, publish all of them.

    A document that is not the tool's format publishes nothing. A full scan reads the stored state as of
    its instant to find what it no longer reports (see `trustline.shared.connectors.fullscan`).
    """
    summary = ImportSummary()
    doc = parse(raw)
    if isinstance(doc, Refusal):
        _refuse(summary, doc.record, doc)
        return summary
    mapped = TOOLS[tool](doc, opts)
    summary.ignored.update(mapped.ignored)
    for refused in mapped.refused:
        _refuse(summary, refused.record, refused)
    events = list(mapped.events)
    if opts.scope is None and mapped.domain != "incident":
        summary.notes.append("partial import (no --full-scan): nothing closed")
    if opts.scope is not None:
        conn = await db.connect(settings)
        try:
            found = await reconcile(conn, mapped, opts)
        finally:
            await conn.close()
        summary.closed = len(found.events)
        events += found.events
        summary.notes.append(found.skipped or f"full scan of {opts.scope} at {_iso(mapped.at)}: "
                             f"{len(found.events)} closed")  # fmt: skip
    values = ((str(e.get("id")), encode(e)) for e in events)
    await _publish(settings, values, summary, console, f"import {tool}")
    return summary


@dataclass(frozen=True, slots=True)
class KevSummary:
    """A catalog import: entries added, updated and unchanged as of its instant, and the refused ones."""

    at: datetime
    version: str | None
    added: int
    updated: int
    unchanged: int
    refused: ImportSummary


async def import_kev(settings: Settings, raw: bytes, *, at: datetime) -> KevSummary:
    """Store the known-exploited catalog as of `at` (it changes nothing before `at`)."""
    refused = ImportSummary()
    doc = parse(raw)
    if isinstance(doc, Refusal):
        _refuse(refused, doc.record, doc)
        return KevSummary(at, None, 0, 0, 0, refused)
    catalog = map_kev(doc)
    for r in catalog.refused:
        _refuse(refused, r.record, r)
    if not catalog.entries:
        return KevSummary(at, catalog.version, 0, 0, 0, refused)
    conn = await db.connect(settings)
    try:
        stored = await store_catalog(conn, catalog.entries, at=at)
    finally:
        await conn.close()
    return KevSummary(at, catalog.version, stored.added, stored.updated, stored.unchanged, refused)


def _iso(at: datetime | None) -> str:
    return at.isoformat() if at is not None else "?"


def _loads(value: bytes) -> object:
    try:
        return msgspec.json.decode(value)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None  # the decoder says what is wrong with it
