"""A snapshot: every metric family as of one instant, from stored state only."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from trustline.shared.policy import Policy
from trustline.shared.settings import DEFAULT_MAX_SOURCES, Settings
from trustline.shared.sql import Query, execute

from .cardinality import cap_business_units, cap_sources
from .coverage import coverage_samples
from .incidents import incident_samples
from .posture import posture_samples
from .samples import Sample
from .sources import source_samples
from .store import write_snapshot
from .vulnerabilities import kev_samples, vulnerability_samples

WORK_MEM = "64MB"
# Room to hash and group a large estate in memory rather than spilling to disk (for this transaction only).
_WORK_MEM = Query("SELECT set_config('work_mem', :work_mem, true)")


@dataclass(frozen=True, slots=True)
class Evaluated:
    """A snapshot's samples, and per capped label how many values were folded into `other`."""

    samples: list[Sample]
    folded: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Stored:
    """What storing a snapshot took: its sample count, the seconds spent, the label values folded."""

    samples: int
    seconds: float
    folded: Mapping[str, int]


async def set_work_mem(conn: asyncpg.Connection) -> None:
    """Give the current transaction the work_mem a snapshot needs."""
    await execute(conn, _WORK_MEM, work_mem=WORK_MEM)


@dataclass(frozen=True, slots=True)
class Caps:
    """How many values of each capped label a snapshot keeps before folding the rest into `other`."""

    business_units: int = 50
    sources: int = DEFAULT_MAX_SOURCES

    @classmethod
    def of(cls, settings: Settings) -> Caps:
        """The caps the settings configure (TRUSTLINE_MAX_BUSINESS_UNITS, TRUSTLINE_MAX_SOURCES)."""
        return cls(settings.max_business_units, settings.max_sources)


async def evaluate(conn: asyncpg.Connection, *, at: datetime, policy: Policy, caps: Caps) -> Evaluated:
    """Every family as of `at`, under the label caps: the same code for now, the past and tests."""
    samples = [
        *await vulnerability_samples(conn, at=at, policy=policy),
        *await kev_samples(conn, at=at, policy=policy),
        *await coverage_samples(conn, at=at, policy=policy),
        *await posture_samples(conn, at=at, policy=policy),
        *await incident_samples(conn, at=at),
        *await source_samples(conn, at=at),
        stamp(at),
    ]
    return capped(samples, caps)


def stamp(at: datetime) -> Sample:
    """snapshot_timestamp_seconds: the instant the snapshot is of."""
    return Sample("trustline_snapshot_timestamp_seconds", {}, at.timestamp(), slope=1.0)


def capped(samples: list[Sample], caps: Caps) -> Evaluated:
    """A snapshot's samples under the label caps."""
    units = cap_business_units(samples, caps.business_units)
    sources = cap_sources(units.samples, caps.sources)
    return Evaluated(sources.samples, {"business_unit": units.folded, "source": sources.folded})


async def compute_snapshot(
    conn: asyncpg.Connection,
    *,
    at: datetime,
    policy: Policy,
    max_business_units: int,
    max_sources: int = DEFAULT_MAX_SOURCES,
) -> list[Sample]:
    """The samples of the snapshot as of `at` (see `evaluate`)."""
    caps = Caps(max_business_units, max_sources)
    return (await evaluate(conn, at=at, policy=policy, caps=caps)).samples


async def store_snapshot(
    conn: asyncpg.Connection, *, at: datetime, policy: Policy, caps: Caps, writer: str
) -> Stored:
    """Compute (in one consistent read) and store the snapshot at `at`."""
    started = time.perf_counter()
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await set_work_mem(conn)
        found = await evaluate(conn, at=at, policy=policy, caps=caps)
    seconds = time.perf_counter() - started
    await write_snapshot(conn, at=at, samples=found.samples, seconds=seconds, writer=writer)
    return Stored(len(found.samples), seconds, found.folded)


async def snapshot_once(
    conn: asyncpg.Connection,
    *,
    at: datetime,
    policy: Policy,
    max_business_units: int,
    max_sources: int = DEFAULT_MAX_SOURCES,
    writer: str,
) -> tuple[int, float]:
    """Compute and store the snapshot at `at`; returns (samples, seconds)."""
    caps = Caps(max_business_units, max_sources)
    stored = await store_snapshot(conn, at=at, policy=policy, caps=caps, writer=writer)
    return stored.samples, stored.seconds
