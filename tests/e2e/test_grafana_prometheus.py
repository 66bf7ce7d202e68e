"""End to end: scenario -> real ingest store, aggregator and API -> a real Prometheus with the project's
rules -> every dashboard query and recording rule through Prometheus's HTTP API; and the board-trends
SQL against the real database.

Prometheus scrapes the one API under two addresses, as it would scrape two replicas serving the same
snapshot: the KPIs below must still come out exact, so nothing is counted twice.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml

from grafana.generator.__main__ import BOARDS, ROOT
from tests.conftest import eventually, serve_api
from tests.e2e import grafana_scenario as scenario
from tests.e2e.prometheus import instant, prometheus, sql_for_range, substitute, values
from tests.helpers import cloudevent, produce
from tests.scenario import D, H
from trustline.aggregator.loop import Aggregator
from trustline.ingest.worker import run_worker
from trustline.shared.metrics.snapshot import compute_snapshot
from trustline.shared.metrics.store import write_snapshot
from trustline.shared.policy import Policy
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
RULE_FILES = [ROOT / "rules" / "recording.yaml", ROOT / "rules" / "alerts.yaml"]
HISTORY_DAYS = (1, 7, 30, 90, 200, 300)  # past snapshots for the 12-month board


def boards() -> dict[str, dict[str, Any]]:
    return {name: json.loads((ROOT / "dashboards" / name).read_text()) for name in BOARDS}


def targets(kind: str) -> list[tuple[str, str, str]]:
    """(board, panel title, query) of every panel target holding `kind` ("expr" or "rawSql")."""
    out = []
    for name, board in boards().items():
        for panel in board["panels"]:
            out += [(name, panel["title"], t[kind]) for t in panel.get("targets", []) if kind in t]
    return out


def recording_rules() -> list[str]:
    groups = yaml.safe_load((ROOT / "rules" / "recording.yaml").read_text())["groups"]
    return [r["record"] for g in groups for r in g["rules"]]


@pytest.fixture
async def running(settings: Settings, db: asyncpg.Connection) -> AsyncIterator[tuple[datetime, str]]:
    """The scenario stored, its history written, ingest worker, aggregator and API running."""
    t0 = scenario.t0()
    await scenario.build(db, t0)
    for days in HISTORY_DAYS:
        at = t0 - days * D
        samples = await compute_snapshot(db, at=at, policy=Policy(), max_business_units=50)
        await write_snapshot(db, at=at, samples=samples, seconds=0.0, writer="test-history")
    stop = asyncio.Event()
    live = settings.model_copy(update={"aggregation_interval_seconds": 1.0})
    tasks = [
        asyncio.create_task(run_worker(settings, stop)),
        asyncio.create_task(Aggregator(live, Policy()).run(stop)),
    ]
    # Pipeline traffic: one valid record that changes no state (a remediation with nothing open) and one
    # that is dead-lettered, so the pipeline board has rates, dead letters, lag and batch timings.
    probe = cloudevent("vulnerability.remediated", t0 - H, {"asset_id": "probe", "vulnerability_id": "CVE-0"},
                       id_="probe", source="test/pipeline")  # fmt: skip
    topic = f"{settings.topic_prefix}.vulnerabilities"
    produce(settings.bootstrap_servers(), [(topic, probe), (topic, b"{not json")])
    try:
        async with serve_api(settings) as url:
            yield t0, url
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)


async def test_every_panel_and_rule_has_data_and_kpis_match_the_hand_computed_values(
    running: tuple[datetime, str], tmp_path: Path
) -> None:
    _, api = running
    address = api.removeprefix("http://")
    port = address.split(":")[1]
    # In this test the ingest worker and the aggregator run in the API's process, so the API's /metrics
    # also carries their pipeline metrics: one scrape job sees everything.
    with prometheus(tmp_path, targets=[address, f"localhost:{port}"], rule_files=RULE_FILES) as prom:
        async with httpx.AsyncClient(timeout=30) as client:
            queries = [(b, t, substitute(q)) for b, t, q in targets("expr")] + [
                ("recording", name, name) for name in recording_rules()
            ]
            empty: list[tuple[str, str, str]] = []

            async def all_have_data() -> bool:
                empty.clear()
                scraped = values(await instant(client, prom, "count(trustline_snapshot_timestamp_seconds)"))
                for board, title, expr in queries:
                    if not await instant(client, prom, expr):
                        empty.append((board, title, expr))
                return scraped == {"": 2.0} and not empty

            try:
                await eventually(all_have_data, seconds=120, every=1.0)
            except AssertionError:
                pytest.fail("queries without data:\n" + "\n".join(map(str, empty)))
            await check_kpis(client, prom)


async def check_kpis(client: httpx.AsyncClient, prom: str) -> None:
    """The headline KPIs through the recording rules and the overview board's own queries."""

    async def one(expr: str, label: str = "") -> dict[str, float]:
        return values(await instant(client, prom, expr), label)

    await check_recording_rules(one)
    await check_overview(one)


Query = Callable[..., Awaitable[dict[str, float]]]


async def check_recording_rules(one: Query) -> None:
    """Every headline recording rule equals the scenario's hand-worked value."""

    # EDR 4 / 5; privileged MFA any 3 / 4, phishing resistant 2 / 4; cloud 3 / (3 + 1) (see the scenario).
    assert await one("trustline:edr_coverage:ratio") == {"": 0.8}
    assert await one("trustline:edr_coverage_by_business_unit:ratio", "business_unit") == {
        "retail": pytest.approx(2 / 3), "payments": 1.0,  # retail a1, a2 of a1..a3; payments a4, a5
    }  # fmt: skip
    assert await one("trustline:privileged_mfa_coverage:ratio") == {"": 0.75}
    assert await one("trustline:privileged_mfa_phishing_resistant_coverage:ratio") == {"": 0.5}
    assert await one("trustline:cloud_config_compliance:ratio") == {"": 0.75}
    # critical 2 met of 3, high 1 of 2.
    assert await one("trustline:patch_sla_compliance_by_severity:ratio_30d", "severity") == {
        "critical": pytest.approx(2 / 3), "high": 0.5,
    }  # fmt: skip
    # critical (18000 + 32400) / 2; high 43200.
    assert await one("trustline:mttr_by_severity:seconds_30d", "severity") == {
        "critical": 25200.0,
        "high": 43200.0,
    }
    # Bucket estimates. critical: 172800, 259200, 864000 s -> cumulative le=86400: 0, le=259200: 2,
    # le=604800: 2, le=1209600: 3. p50: rank 1.5 in (86400, 259200]: 86400 + 172800 * 1.5 / 2 = 216000.
    # p90: rank 2.7 in (604800, 1209600] holding 1 above 2: 604800 + 604800 * 0.7 = 1028160.
    # high: 432000, 3024000 s -> le=604800: 1, le=2592000: 1, le=5184000: 2. p50: rank 1 in
    # (259200, 604800]: 604800. p90: rank 1.8 in (2592000, 5184000]: 2592000 + 2592000 * 0.8 = 4665600.
    assert await one("trustline:time_to_patch_by_severity:p50_seconds_30d", "severity") == {
        "critical": pytest.approx(216000), "high": pytest.approx(604800),
    }  # fmt: skip
    assert await one("trustline:time_to_patch_by_severity:p90_seconds_30d", "severity") == {
        "critical": pytest.approx(1028160), "high": pytest.approx(4665600),
    }  # fmt: skip


async def check_overview(one: Query) -> None:
    """The overview board's stat panels (all business units and severities) agree with the rules."""
    overview = {
        p["title"]: p["targets"][0]["expr"] for p in boards()["overview.json"]["panels"] if p.get("targets")
    }
    expected = {
        "EDR coverage": 0.8, "Privileged MFA": 0.75, "Privileged phishing-resistant MFA": 0.5,
        "Cloud config compliance": 0.75,
        "Patch SLA compliance (30d)": pytest.approx(3 / 5),  # (2 + 1) met of (3 + 2)
        "MTTR (30d)": pytest.approx((18000 + 32400 + 43200) / 3),
        "Critical vulnerabilities past SLA": 1.0,  # CVE-C9, 9 d open against 7 d
    }  # fmt: skip
    for title, value in expected.items():
        assert await one(substitute(overview[title])) == {"": value}, title


async def test_board_trends_sql_reads_the_stored_history(
    running: tuple[datetime, str], db: asyncpg.Connection
) -> None:
    t0, _ = running
    # The aggregator stores a snapshot at "now" every second: wait for today's.
    await eventually(lambda: db.fetchval("SELECT max(at) > $1 FROM snapshots", t0))
    queries = targets("rawSql")
    assert len(queries) == 6
    for board, title, sql in queries:
        rows = await db.fetch(sql_for_range(sql), t0 - timedelta(days=365), t0 + timedelta(hours=1))
        assert rows, (board, title)
        # At least yesterday's stored snapshot and today's (the older ones predate some of the data).
        assert len({r["time"].date() for r in rows}) >= 2, (title, rows)
    coverage = next(sql for _, title, sql in queries if title == "Coverage and compliance")
    today = (await db.fetch(sql_for_range(coverage), t0 - timedelta(days=365), t0 + timedelta(hours=1)))[-1]
    # Today's last snapshot: the same KPIs as worked out for the scenario.
    assert dict(today) | {"time": None} == {
        "time": None, "EDR coverage": 0.8, "Privileged MFA": 0.75,
        "Privileged phishing-resistant MFA": 0.5, "Cloud config compliance": 0.75,
    }  # fmt: skip
