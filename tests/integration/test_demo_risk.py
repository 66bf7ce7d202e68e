"""The demo's risk register: acceptances on findings the demo organisation really has, seeded once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from trustline.demo.history import history
from trustline.demo.org import build_org
from trustline.demo.risk import Findings, seed_acceptances
from trustline.shared.risk import service as registry
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration


async def test_seeds_every_status_once_from_the_stream(clean: Settings, db: asyncpg.Connection) -> None:
    end = datetime(2026, 11, 1, tzinfo=UTC)
    found = Findings()
    for ev in history(
        build_org(seed=3, assets=300, identities=200), seed=3, start=end - timedelta(days=30), end=end
    ):
        found.note(ev)
    assert {"critical", "high", "medium", "low"} <= set(found.vulnerabilities) and found.failing_controls

    assert await seed_acceptances(clean, found, end) == 5
    assert await seed_acceptances(clean, found, end) == 0  # a second demo run adds nothing
    by_status = {
        s: len(await registry.list_acceptances(db, status=s)) for s in ("approved", "proposed", "rejected")
    }
    assert by_status == {"approved": 3, "proposed": 1, "rejected": 1}
    critical = await registry.list_acceptances(db, severity="critical")
    assert critical[0].scope.asset_id == found.vulnerabilities["critical"][0]
    assert critical[0].expires_at == end + timedelta(
        days=5
    )  # expiring within the week: the 7-day gauge shows it
