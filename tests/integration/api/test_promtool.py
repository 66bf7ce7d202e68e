"""The exporter's output passes Prometheus's own linter on a system where every family is populated."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from datetime import date, timedelta

import asyncpg
import pytest

from tests.integration.metrics.test_properties import SCENARIO
from tests.scenario import T, load
from trustline.api.metrics.exposition import render
from trustline.shared.connectors.kev import Entry
from trustline.shared.connectors.kev_catalog import store_catalog
from trustline.shared.metrics.catalog import FAMILIES
from trustline.shared.metrics.snapshot import compute_snapshot
from trustline.shared.policy import Policy
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing in CI: `make test` installs Debian's prometheus package as root")
        pytest.skip(
            "promtool not installed: Debian's `prometheus` package needs root (`make test` as root installs it)"
        )
    return found


async def test_promtool_check_metrics_reports_nothing(clean: Settings, db: asyncpg.Connection) -> None:
    tool = promtool()
    await load(db, SCENARIO)
    # v1 (open on a1 at T since T - 10 d) is known-exploited, so the KEV family is populated too.
    await store_catalog(db, [Entry("v1", date(2026, 9, 1), date(2026, 9, 20))], at=T - timedelta(days=5))
    samples = await compute_snapshot(db, at=T, policy=Policy(), max_business_units=50)
    body = render(samples)
    exported = {line.split(" ")[2] for line in body.decode().splitlines() if line.startswith("# TYPE ")}
    # Every family of the contract is populated by the scenario, except the registry (no acceptances there).
    assert exported >= set(FAMILIES) - {
        "trustline_risk_acceptances",
        "trustline_risk_acceptances_expiring_7d",
    }
    done = await asyncio.to_thread(
        subprocess.run, [tool, "check", "metrics"], input=body, capture_output=True, timeout=60, check=False
    )
    # Nothing to remark, not even on units: security debt is exported in seconds (metrics.md).
    assert (done.returncode, done.stdout + done.stderr) == (0, b"")
