"""The live snapshot: "now" from per-entity contributions kept in memory, recomputing only what changed.

The aggregator leader computes every family once per entity (the as-of statements grouped by entity,
`contributions.Part`), keeps the totals per group, and from then on recomputes at each snapshot only the
dirty entities: those ingest recorded as changed (`changes`), those whose next change (`entities`) is due,
and those named by a risk acceptance that was decided, expired or revoked since. Everything is read in
the snapshot's repeatable-read transaction, so the change rows and the state are one consistent view, and
the samples come out of the families' own builders: the same values as the as-of path at that instant.
Past instants never come here (backfill, `aggregate --at`, the API keep the as-of path).
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

import asyncpg

from trustline.shared.policy import Policy
from trustline.shared.sql import Query, execute, fetch

from . import changes, coverage, incidents, posture, vulnerabilities
from .contributions import Contribution, Part, Totals, micros
from .entities import ASSET, CHECK, INCIDENT, KINDS, USER, Key, Kind
from .samples import DURATION_BUCKETS, Sample
from .snapshot import Caps, Evaluated, Stored, capped, set_work_mem, stamp
from .sources import source_samples
from .sql import WINDOW_NAMES, check_staleness, edr_ages
from .store import write_snapshot

log = logging.getLogger(__name__)
_BUCKETS = tuple(f"b{i}" for i in range(len(DURATION_BUCKETS)))
_VULNERABILITY_GROUPS = (
    *("part", "business_unit", "severity"),
    *("closed_window", "closed_bounds_at_or_above", "closed_within_sla"),
    *("open_age_bucket", "open_status"),
)
Builder = Callable[[Sequence[Any]], list[Sample]]

# Every family kept per entity, in the order the as-of snapshot lists them, with the builder of its samples.
PARTS: Final[tuple[tuple[Part, Builder], ...]] = (
    (
        Part(
            "vulnerabilities",
            ASSET,
            vulnerabilities.vulnerabilities_sql,
            _VULNERABILITY_GROUPS,
            counts=("closed_cycles", "open_cycles", "open_past_sla"),
            seconds=("closed_seconds",),
            line=("open_debt_seconds", "open_past_sla"),
            oldest=("open_oldest_detected", "open_oldest_age"),
        ),
        vulnerabilities.samples,
    ),
    (Part("edr", ASSET, coverage.edr_sql, ("business_unit", "os_family"), ("expected", "covered")),
     coverage.edr_samples),
    (Part("edr_unknown", ASSET, coverage.unknown_sql, (), ("unknown", "sensors")), coverage.unknown_samples),
    (
        Part("identities", USER, coverage.identities_sql, ("business_unit", "population"),
             ("total", "phishing_resistant", "other")),
        coverage.identity_samples,
    ),
    (Part("checks", CHECK, posture.checks_sql, ("provider", "severity"), ("pass", "fail", "accepted")),
     posture.check_samples),
    (
        Part("incident_durations", INCIDENT, incidents.durations_sql, ("severity", "stage", "window"),
             ("n", *_BUCKETS), seconds=("total_seconds",)),
        incidents.duration_samples,
    ),
    (Part("incidents_open", INCIDENT, incidents.open_sql, ("severity",), ("open",)), incidents.open_samples),
    (Part("incident_errors", INCIDENT, incidents.errors_sql, ("stage",), ("n",)), incidents.error_samples),
)  # fmt: skip
NEXT_CHANGE: Final = {(k.name, only): Query(k.next_change_sql(only)) for k in KINDS for only in (False, True)}
_DOMAINS: Final = {domain: kind for kind in KINDS for domain in kind.domains}

# Acceptances ever approved: when one is decided, expires or is revoked, what it names is recomputed.
REGISTRY = Query(
    "SELECT id, vulnerability_id, asset_id, control_id, resource_id, business_unit, severity, "
    "approved_at, expires_at, revoked_at FROM risk_acceptances WHERE approved_at IS NOT NULL"
)
# What an acceptance may name (a superset: its asset, resource or business unit narrows it further).
NAMED_ASSETS = Query(
    "SELECT DISTINCT asset_id FROM vuln_cycle_versions "
    "WHERE vulnerability_id = ANY(:vulnerability_ids::text[])"
)
NAMED_CHECKS = Query(
    "SELECT DISTINCT resource_id, control_id FROM cloud_check_versions "
    "WHERE control_id = ANY(:control_ids::text[])"
)
# A plan per execution: the dirty entities are a handful, the first pass is the whole estate.
_CUSTOM_PLANS = Query("SELECT set_config('plan_cache_mode', :mode, true)")


def _policy_params(policy: Policy) -> dict[str, Any]:
    return {
        **vulnerabilities.params(policy),
        **edr_ages(policy),
        "phishing_resistant_factors": list(policy.phishing_resistant_factors),
        "check_stale_after": check_staleness(policy),
        "window_names": list(WINDOW_NAMES),
    }


class LiveState:
    """The leader's contributions per entity, their totals per group, and when each entity next moves."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._params = _policy_params(policy)
        self.at: datetime | None = None
        self._contributions: dict[tuple[str, Key], list[tuple[int, Contribution]]] = {}
        self._totals = [Totals(part) for part, _ in PARTS]
        self._due: dict[tuple[str, Key], datetime] = {}
        self._heap: list[tuple[datetime, str, Key]] = []
        self._registry: dict[Any, tuple[Any, ...]] = {}
        self.recomputed = 0  # entities recomputed by the last advance (what a snapshot cost)

    async def advance(self, conn: asyncpg.Connection, at: datetime) -> list[int]:
        """Bring the totals to `at` (inside the caller's repeatable-read transaction); returns the change
        rows taken into account, which the caller deletes once its snapshot is stored."""
        found = await changes.read(conn)
        registry = {r["id"]: tuple(r) for r in await fetch(conn, REGISTRY)}
        if self.at is None or at < self.at or any(d not in _DOMAINS for d in found.keys):
            await self._rebuild(conn, at)
        else:
            dirty = self._changed(found) | self._due_by(at)
            dirty |= await self._accepted(conn, registry, at)
            self.recomputed = len(dirty)
            for kind in KINDS:
                keys = {key for name, key in dirty if name == kind.name}
                if keys:
                    await self._recompute(conn, kind, keys, at)
        self._registry, self.at = registry, at
        return found.seqs

    def rows(self, at: datetime) -> list[list[dict[str, Any]]]:
        """Per part, its groups at `at` as the as-of statement gives them."""
        return [list(totals.rows(at)) for totals in self._totals]

    async def _rebuild(self, conn: asyncpg.Connection, at: datetime) -> None:
        self._contributions.clear()
        self._totals = [Totals(part) for part, _ in PARTS]
        self._due.clear()
        self._heap.clear()
        for kind in KINDS:
            await self._recompute(conn, kind, None, at)
        self.recomputed = len(self._contributions)

    def _changed(self, found: changes.Changes) -> set[tuple[str, Key]]:
        return {
            (kind.name, kind.domains[domain](key))
            for domain, keys in found.keys.items()
            for kind in (_DOMAINS[domain],)
            for key in keys
        }

    def _due_by(self, at: datetime) -> set[tuple[str, Key]]:
        out = set()
        while self._heap and self._heap[0][0] <= at:
            when, name, key = heapq.heappop(self._heap)
            if self._due.get((name, key)) == when:
                out.add((name, key))
        return out

    async def _accepted(
        self, conn: asyncpg.Connection, registry: dict[Any, tuple[Any, ...]], at: datetime
    ) -> set[tuple[str, Key]]:
        """The entities named by an acceptance decided since the last snapshot, or whose approval, expiry or
        revocation fell between it and `at`."""
        assert self.at is not None
        moved = [
            row
            for i in registry.keys() | self._registry.keys()
            for row in (registry.get(i), self._registry.get(i))
            if row is not None and registry.get(i) != self._registry.get(i)
        ]
        moved += [
            row for row in registry.values() if any(t is not None and self.at < t <= at for t in row[7:10])
        ]
        vulnerabilities_ = sorted({row[1] for row in moved if row[1] is not None})
        controls = sorted({row[3] for row in moved if row[3] is not None})
        out: set[tuple[str, Key]] = set()
        if vulnerabilities_:
            rows = await fetch(conn, NAMED_ASSETS, vulnerability_ids=vulnerabilities_)
            out |= {(ASSET.name, (r["asset_id"],)) for r in rows}
        if controls:
            rows = await fetch(conn, NAMED_CHECKS, control_ids=controls)
            out |= {(CHECK.name, (r["resource_id"], r["control_id"])) for r in rows}
        return out

    def _args(self, query: Query, at: datetime, named: dict[str, list[str]]) -> dict[str, Any]:
        given = {**self._params, **named, "at": at}
        return {n: given[n] for n in query.names}

    async def _recompute(
        self, conn: asyncpg.Connection, kind: Kind, keys: set[Key] | None, at: datetime
    ) -> None:
        """Replace the contributions of `keys` (None: every entity of the kind) by their values at `at`."""
        only = keys is not None
        named = kind.filter(keys) if keys is not None else {}
        at_us = micros(at)
        fresh: dict[Key, list[tuple[int, Contribution]]] = {}
        for index, (part, _) in enumerate(PARTS):
            if part.kind is not kind:
                continue
            query = part.queries[only]
            for row in await fetch(conn, query, **self._args(query, at, named)):
                key = tuple(row[c] for c in kind.key)
                fresh.setdefault(key, []).append((index, Contribution.of(part, row, at_us)))
        for key in keys if keys is not None else fresh.keys():
            for index, old in self._contributions.pop((kind.name, key), ()):
                self._totals[index].add(old, -1)
            self._due.pop((kind.name, key), None)
            if key in fresh:
                self._contributions[(kind.name, key)] = fresh[key]
                for index, new in fresh[key]:
                    self._totals[index].add(new, 1)
        query = NEXT_CHANGE[(kind.name, only)]
        for row in await fetch(conn, query, **self._args(query, at, named)):
            if row["next_change"] is not None:
                key = tuple(row[f"k{i}"] for i in range(len(kind.key)))
                self._due[(kind.name, key)] = row["next_change"]
                heapq.heappush(self._heap, (row["next_change"], kind.name, key))

    def compact(self) -> None:
        """Drop the heap's superseded entries once they outnumber the live ones."""
        if len(self._heap) > 2 * len(self._due) + 1024:
            self._heap = [(t, n, k) for (n, k), t in self._due.items()]
            heapq.heapify(self._heap)


async def evaluate_live(
    conn: asyncpg.Connection, state: LiveState, *, at: datetime, caps: Caps
) -> tuple[Evaluated, list[int]]:
    """Every family at `at` from the live state brought up to date (inside a repeatable-read
    transaction); also the change rows it took into account."""
    await execute(conn, _CUSTOM_PLANS, mode="force_custom_plan")
    seqs = await state.advance(conn, at)
    samples: list[Sample] = []
    for (_, build), rows in zip(PARTS, state.rows(at), strict=True):
        samples += build(rows)
    # The registry, the feeds and the known-exploited findings are small: read whole, as the as-of path does.
    samples += await vulnerabilities.kev_samples(conn, at=at, policy=state.policy)
    samples += await posture.risk_samples(conn, at=at)
    samples += await source_samples(conn, at=at)
    samples.append(stamp(at))
    state.compact()
    return capped(samples, caps), seqs


class Live:
    """The leader's live snapshots: a state trusted only after a complete read, rebuilt otherwise."""

    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        self._state: LiveState | None = None

    async def store(self, conn: asyncpg.Connection, *, at: datetime, caps: Caps, writer: str) -> Stored:
        """Compute the snapshot at `at` (now) from what changed, store it, and forget the change rows."""
        state, self._state = self._state or LiveState(self._policy), None
        started = time.perf_counter()
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            await set_work_mem(conn)
            found, seqs = await evaluate_live(conn, state, at=at, caps=caps)
        seconds = time.perf_counter() - started
        self._state = state
        log.debug("live snapshot: %d entities recomputed", state.recomputed)
        await write_snapshot(conn, at=at, samples=found.samples, seconds=seconds, writer=writer)
        await changes.forget(conn, seqs)
        return Stored(len(found.samples), seconds, found.folded)
