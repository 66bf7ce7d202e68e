"""The known-exploited SLA end to end: findings through the broker, the KEV catalog imported at S, the
metric and the drill-down before and after S. Expected values are worked out by hand in the comments."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import asyncpg
import httpx
import pytest

from tests.conftest import eventually, serve_api
from tests.helpers import cloudevent, names_with, produce, sample
from tests.integration.test_pipeline import scrape_at
from tests.unit.shared.connectors.samples import kev_catalog
from trustline.aggregator.loop import snapshot_at
from trustline.ingest.importer import import_kev
from trustline.shared.auth import keys
from trustline.shared.connectors.kev import Entry
from trustline.shared.connectors.kev_catalog import store_catalog
from trustline.shared.policy import Policy
from trustline.shared.settings import Settings

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)
D, H = timedelta(days=1), timedelta(hours=1)
S = NOW - 5 * D  # the catalog import
BEFORE, AFTER = S - H, NOW - H  # two snapshots
DUE = (NOW - 10 * D).date()  # CVE-2023-5363's due date: already past at BEFORE and at AFTER
DUE_END = datetime.combine(DUE + D, time(), tzinfo=UTC)  # remediation is due by the end of that day (UTC)


def findings(prefix: str) -> list[tuple[str, object]]:
    vulns, assets = f"{prefix}.vulnerabilities", f"{prefix}.assets"

    def found(i: str, cve: str, severity: str, at: datetime) -> tuple[str, object]:
        data = {"asset_id": "web-01", "vulnerability_id": cve, "severity": severity}
        return vulns, cloudevent("vulnerability.detected", at, data, id_=i, source="trivy/ci")

    return [
        (
            assets,
            cloudevent(
                "asset.observed",
                NOW - 60 * D,
                {"asset_id": "web-01", "business_unit": "payments"},
                id_="a1",
                source="cmdb",
            ),
        ),  # fmt: skip
        found("v1", "CVE-2023-5363", "high", NOW - 20 * D),  # SLA 30 d: within it until NOW + 10 d
        found("v2", "CVE-2021-44228", "critical", NOW - 3 * D),  # SLA 7 d: within it until NOW + 4 d
        found("v3", "CVE-2024-0001", "high", NOW - 2 * D),  # not in the catalog
    ]


async def test_a_catalog_import_turns_past_due_findings_into_kev_breaches_from_its_instant_on(
    settings: Settings, db: asyncpg.Connection, worker: Settings
) -> None:
    produce(settings.bootstrap_servers(), findings(settings.topic_prefix))

    async def stored() -> bool:
        return await db.fetchval("SELECT count(*) FROM raw_events") == 4

    await eventually(stored)
    catalog = kev_catalog([("CVE-2021-44228", "2021-12-10", "2021-12-24"),
                           ("CVE-2023-5363", str(DUE - 14 * D), str(DUE))])  # fmt: skip
    got = await import_kev(settings, json.dumps(catalog).encode(), at=S)
    assert (got.added, got.updated, got.unchanged) == (2, 0, 0)
    again = await import_kev(settings, json.dumps(catalog).encode(), at=S)  # a replay writes nothing
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)

    reader = await keys.create_key(db, principal="leader", scopes=["read"], now=NOW)
    async with serve_api(settings) as url, httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {reader}"}) as http:  # fmt: skip
        past_sla = "/api/v1/gaps/vulnerabilities-past-sla"
        # Before S the catalog is empty: CVE-2023-5363 is already past what will be its due date, but
        # nothing is known-exploited yet, so the family has no series and the kev list is empty.
        await snapshot_at(settings, Policy(), BEFORE)
        m = await scrape_at(url, BEFORE)
        assert names_with(m, "trustline_kev_vulnerabilities_open") == []
        early = (await http.get(past_sla, params={"kev": "true", "at": BEFORE.isoformat()})).json()
        assert early["total"] == 0

        await snapshot_at(settings, Policy(), AFTER)
        m = await scrape_at(url, AFTER)
        # CVE-2023-5363: deadline = min(NOW - 20 d + 30 d, end of DUE) = end of DUE < AFTER -> breached.
        # CVE-2021-44228: min(NOW - 3 d + 7 d, 2021-12-25 00:00 UTC) -> breached. CVE-2024-0001: not KEV.
        kev = {s: sample(m, "trustline_kev_vulnerabilities_open", business_unit="payments", sla_status=s)
               for s in ("within_sla", "breached", "accepted")}  # fmt: skip
        assert kev == {"within_sla": 0, "breached": 2, "accepted": 0}
        # The severity SLAs are unchanged: all three findings are within them.
        open_ = "trustline_vulnerabilities_open"
        assert sample(m, open_, business_unit="payments", severity="high", sla_status="within_sla") == 2
        assert sample(m, open_, business_unit="payments", severity="critical", sla_status="within_sla") == 1

        late = (await http.get(past_sla, params={"kev": "true", "at": AFTER.isoformat()})).json()
        assert late["total"] == 2
        rows = [
            (i["vulnerability_id"], i["kev"], i["kev_due_date"], i["overdue_seconds"]) for i in late["items"]
        ]
        log4j_due = datetime(2021, 12, 25, tzinfo=UTC)
        # Most overdue first: AFTER - 2021-12-25, then AFTER - end of DUE.
        assert rows == [
            ("CVE-2021-44228", True, "2021-12-24", (AFTER - log4j_due).total_seconds()),
            ("CVE-2023-5363", True, str(DUE), (AFTER - DUE_END).total_seconds()),
        ]
        ordinary = (await http.get(past_sla, params={"at": AFTER.isoformat()})).json()
        assert ordinary["total"] == 0  # nothing is past its severity SLA


async def test_catalog_versions_change_nothing_before_their_instant(
    clean: Settings, db: asyncpg.Connection
) -> None:
    s1, s0 = NOW - 2 * D, NOW - 4 * D
    first = Entry("CVE-2021-44228", date(2021, 12, 10), date(2021, 12, 24))
    moved = Entry("CVE-2021-44228", date(2021, 12, 10), date(2022, 1, 10))
    assert (await store_catalog(db, [first], at=s1)).added == 1
    # An older catalog imported later (out of order): it holds from s0 until the version from s1.
    assert (await store_catalog(db, [moved], at=s0)).added == 1
    # A newer one with the first due date again changes nothing; one with another due date at s2 splits.
    assert (await store_catalog(db, [first], at=NOW - D)).unchanged == 1
    assert (await store_catalog(db, [moved], at=NOW)).updated == 1
    rows = await db.fetch(
        "SELECT valid_from, valid_to, due_date FROM kev_catalog_versions ORDER BY valid_from"
    )
    assert [tuple(r) for r in rows] == [
        (s0, s1, date(2022, 1, 10)),
        (s1, NOW, date(2021, 12, 24)),
        (NOW, None, date(2022, 1, 10)),
    ]
