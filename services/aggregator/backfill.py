"""Backfill: snapshots at regular past instants, computed from stored state (e.g. after a policy change)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from rich.console import Console

from trustline.shared.db import connect
from trustline.shared.metrics.snapshot import Caps, store_snapshot
from trustline.shared.policy import Policy
from trustline.shared.progress import track
from trustline.shared.settings import Settings

from .loop import writer_id


def instants(start: datetime, end: datetime, step: timedelta) -> Iterator[datetime]:
    """start, start + step, ... up to and including end."""
    if step <= timedelta(0):
        raise ValueError("step must be positive")
    at = start
    while at <= end:
        yield at
        at += step


async def backfill(
    settings: Settings, policy: Policy, *, start: datetime, end: datetime, step: timedelta, console: Console
) -> int:
    """Write (or rewrite) the snapshot at every instant; returns how many were written."""
    points = list(instants(start, end, step))
    writer = writer_id("backfill")
    conn = await connect(settings)
    try:
        with track(console, "backfill", len(points)) as progress:
            for at in points:
                await store_snapshot(conn, at=at, policy=policy, caps=Caps.of(settings), writer=writer)
                progress.advance(1, note=at.isoformat(timespec="minutes"))
    finally:
        await conn.close(timeout=5)
    return len(points)
