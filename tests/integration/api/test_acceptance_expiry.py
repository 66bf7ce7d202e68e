"""An acceptance approved over HTTP hides a breach from /metrics until it expires; then the breach counts again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import eventually, serve_api
from tests.helpers import parse_metrics, sample
from tests.scenario import D, ev, load
from trustline.aggregator.loop import Aggregator
from trustline.shared.auth import keys as keys
from trustline.shared.policy import Policy
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
LIFETIME = timedelta(seconds=6)
OPEN = {"business_unit": "payments", "severity": "critical"}


@pytest.fixture
async def aggregator(clean: Settings) -> AsyncIterator[None]:
    stop = asyncio.Event()
    fast = clean.model_copy(update={"aggregation_interval_seconds": 0.5})
    task = asyncio.create_task(Aggregator(fast, Policy()).run(stop))
    yield
    stop.set()
    await asyncio.wait_for(task, 30)


async def test_expiry_brings_the_breach_back_on_metrics(
    clean: Settings, db: asyncpg.Connection, aggregator: None
) -> None:
    now = datetime.now(UTC)
    # A critical CVE open for 10 days: breached (SLA 7 d) unless accepted.
    await load(db, [
        ev("asset.observed", now - D, source="test/cmdb", asset_id="a1", kind="server", business_unit="payments"),
        ev("vulnerability.detected", now - 10 * D, source="test/scanner", asset_id="a1",
           vulnerability_id="CVE-2026-9", severity="critical"),
    ])  # fmt: skip
    alice, bob = [
        {"Authorization": f"Bearer {await keys.create_key(db, principal=p, scopes=s, now=now)}"}
        for p, s in (("alice", ["risk:propose", "read"]), ("bob", ["risk:approve"]))
    ]
    async with serve_api(clean) as url, httpx.AsyncClient(base_url=url) as http:

        async def metrics() -> dict[str, float | None]:
            m = parse_metrics((await http.get("/metrics")).text)
            return {
                status: sample(m, "trustline_vulnerabilities_open", **OPEN, sla_status=status)
                for status in ("breached", "accepted")
            } | {"expired": sample(m, "trustline_risk_acceptances", status="expired")}

        async def reads(expected: dict[str, float]) -> bool:
            return await metrics() == expected

        await eventually(lambda: reads({"breached": 1, "accepted": 0, "expired": None}))
        proposal = {
            "title": "Hot-fix window", "justification": "vendor fix next week", "severity": "critical",
            "business_owner": "Head of Payments", "scope": {"vulnerability_id": "CVE-2026-9"},
            "expires_at": (datetime.now(UTC) + LIFETIME).isoformat(),
        }  # fmt: skip
        made = (await http.post("/api/v1/risk-acceptances", json=proposal, headers=alice)).json()
        approved = await http.post(f"/api/v1/risk-acceptances/{made['id']}/approve", json={}, headers=bob)
        assert approved.status_code == 200
        # In force: the breach is accepted, not gone.
        await eventually(lambda: reads({"breached": 0, "accepted": 1, "expired": 0}))
        # Past its expiry the finding counts again with its original clock, and the register says why.
        await asyncio.sleep(LIFETIME.total_seconds())
        await eventually(lambda: reads({"breached": 1, "accepted": 0, "expired": 1}))
        detail: dict[str, Any] = {}

        async def audited() -> bool:
            detail.update((await http.get(f"/api/v1/risk-acceptances/{made['id']}", headers=alice)).json())
            return bool(detail["acceptance"]["status"] == "expired")

        await eventually(audited)
        assert [e["action"] for e in detail["audit"]] == ["proposed", "approved", "expired"]
        assert detail["audit"][-1]["actor"] == "trustline"
