"""Synthetic state for P3: assets, vulnerability cycles, EDR, identities and MFA, cloud checks, incidents."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from trustline.ingest.domains import ASSETS, CHECKS, CYCLES, EDR, FACTORS, IDENTITIES, INCIDENTS, StateTable

FULL = {"assets": 100_000, "cycles": 1_000_000, "identities": 100_000, "checks": 500_000, "incidents": 10_000}
SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_WEIGHTS = (2, 15, 45, 33, 5)
BUS = [f"bu-{i:02d}" for i in range(20)]
OS = ("windows", "macos", "linux", "other")
KINDS = ("endpoint", "server", "cloud_instance", "network")
FACTORS_ALL = ("webauthn", "fido2", "totp", "push", "sms")


@dataclass(frozen=True)
class Sizes:
    """Row counts of one run."""

    assets: int
    cycles: int
    identities: int
    checks: int
    incidents: int

    @classmethod
    def fraction(cls, f: float) -> Sizes:
        """A fraction of the full P3 size."""
        return cls(**{k: int(v * f) for k, v in FULL.items()})


def _assets(rng: random.Random, n: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    for i in range(n):
        kind = rng.choice(KINDS)
        seen = now - timedelta(hours=rng.uniform(0, 40 * 24))
        yield (
            f"a{i}",
            seen,
            None,
            f"host-{i}",
            kind,
            rng.choice(OS),
            rng.choice(BUS),
            "prod",
            kind in ("endpoint", "server"),
            rng.random() < 0.02,
            seen,
        )


def _cycles(rng: random.Random, n: int, assets: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    for i in range(n):
        detected = now - timedelta(days=rng.uniform(0, 365))
        remediated = detected + timedelta(days=rng.expovariate(1 / 40)) if rng.random() < 0.7 else None
        if remediated is not None and remediated > now:
            remediated = None
        sev = rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0]
        yield (f"a{rng.randrange(assets)}", f"CVE-{i}", 0, detected, remediated, sev, False, detected, None)


def _edr(rng: random.Random, assets: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    for i in range(assets):
        if rng.random() < 0.9:
            beat = now - timedelta(hours=rng.uniform(0, 48))
            yield (f"a{i}", beat, None, beat, None)


def _identities(
    rng: random.Random, n: int, now: datetime
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    people, factors = [], []
    for i in range(n):
        since = now - timedelta(days=rng.uniform(1, 700))
        people.append((f"u{i}", since, None, rng.random() < 0.07, rng.choice(BUS), rng.random() > 0.03))
        for k in range(rng.choice((0, 1, 1, 2))):
            factors.append((f"u{i}", f"f{k}", since, None, rng.choice(FACTORS_ALL), True))
    return people, factors


def _checks(rng: random.Random, n: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    for i in range(n):
        at = now - timedelta(days=rng.uniform(0, 10))
        status = rng.choices(("pass", "fail", "muted"), (70, 25, 5))[0]
        yield (
            f"r{i // 20}",
            f"c{i % 20}",
            at,
            None,
            status,
            rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0],
            rng.choice(("aws", "azure", "gcp", "kubernetes")),
            "acct",
            "region",
            "cis",
            at,
        )


def _incidents(rng: random.Random, n: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    for i in range(n):
        opened = now - timedelta(days=rng.uniform(0, 120))
        stages = [opened + timedelta(hours=h) for h in sorted(rng.expovariate(1 / 6) for _ in range(4))]
        done = [s if s <= now else None for s in stages]
        sev = rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0]
        yield (f"i{i}", opened, None, sev, opened, *done)


async def _copy(conn: asyncpg.Connection, table: StateTable, rows: Any) -> int:
    records = list(rows)
    await conn.copy_records_to_table(table.name, records=records, columns=table.columns)
    return len(records)


async def generate(conn: asyncpg.Connection, sizes: Sizes, now: datetime, seed: int = 3) -> dict[str, int]:
    """Replace the state tables with synthetic rows; returns rows per table."""
    rng = random.Random(seed)
    tables = [t.name for t in (ASSETS, CYCLES, EDR, IDENTITIES, FACTORS, CHECKS, INCIDENTS)]
    await conn.execute(f"TRUNCATE {', '.join(tables)}, risk_acceptance_audit, risk_acceptances")
    people, factors = _identities(rng, sizes.identities, now)
    counts = {
        ASSETS.name: await _copy(conn, ASSETS, _assets(rng, sizes.assets, now)),
        CYCLES.name: await _copy(conn, CYCLES, _cycles(rng, sizes.cycles, sizes.assets, now)),
        EDR.name: await _copy(conn, EDR, _edr(rng, sizes.assets, now)),
        IDENTITIES.name: await _copy(conn, IDENTITIES, people),
        FACTORS.name: await _copy(conn, FACTORS, factors),
        CHECKS.name: await _copy(conn, CHECKS, _checks(rng, sizes.checks, now)),
        INCIDENTS.name: await _copy(conn, INCIDENTS, _incidents(rng, sizes.incidents, now)),
    }
    # A registry in use: acceptances on a sample of vulnerabilities and controls.
    await conn.execute(
        "INSERT INTO risk_acceptances (title, justification, vulnerability_id, severity, business_owner, "
        "requested_by, approved_by, status, created_at, approved_at, expires_at) "
        "SELECT 'bench', 'bench', 'CVE-' || g, 'high', 'owner', 'alice', 'bob', 'approved', $1, $1, $2 "
        "FROM generate_series(1, $3::int) g",
        now - timedelta(days=5),
        now + timedelta(days=60),
        max(1, sizes.cycles // 1000),
    )
    await conn.execute("VACUUM ANALYZE")
    return counts
