"""The gap lists in the pages: totals equal to the metric they explain, filters, paging, CSV, and the
"propose an acceptance" link of a breached finding (the drill-down scenario of the API tests)."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import asyncpg
import pytest

from tests.integration.api.gaps_scenario import build
from tests.integration.api.test_gaps import edr_gap, total
from tests.scenario import T
from trustline.api.pages.gaps import LISTS, csv_text

from .client import PagesClient
from .conftest import Pages

pytestmark = pytest.mark.integration


def shown_total(html: str) -> int:
    found = re.search(r'data-total="(\d+)"', html)
    assert found is not None
    return int(found.group(1))


def cells(html: str, column: int) -> list[str]:
    """The text of one column of the list's table body."""
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [unescape(re.sub(r"<[^>]+>", "", re.findall(r"<td>(.*?)</td>", r, re.S)[column])) for r in rows]


async def test_totals_equal_the_metrics_and_the_api(pages: Pages, db: asyncpg.Connection) -> None:
    m = await build(db)
    async with PagesClient(pages.url) as client:
        await client.dev_sign_in("auditor")
        # By hand in the API tests: 5 assets without EDR, 3 unknown sensors, 6 breached vulnerabilities
        # (the security debt's 40 days), 3 failing checks not accepted.
        expected = {
            "edr-uncovered": edr_gap(m),
            "edr-unknown": total(m, "trustline_edr_unknown_assets"),
            "vulnerabilities-past-sla": total(m, "trustline_vulnerabilities_open", sla_status="breached"),
            "cloud-checks-failing": total(m, "trustline_cloud_config_checks", status="fail"),
            "incidents-open": total(m, "trustline_incidents_open"),
        }
        assert list(expected.values()) == [5, 3, 6, 3, 4]
        for slug, value in expected.items():
            page = await client.get(f"/gaps/{slug}")
            assert page.status_code == 200, page.text
            assert shown_total(page.text) == value, slug
            assert "as of 2026-10-01 12:00 UTC" in page.text
        retail = await client.get("/gaps/edr-uncovered?business_unit=retail")
        assert shown_total(retail.text) == 2 == edr_gap(m, business_unit="retail")
        assert cells(retail.text, 0) == ["e11", "e12"]
        critical = await client.get("/gaps/vulnerabilities-past-sla?severity=critical")
        assert cells(critical.text, 1) == ["CVE-1", "CVE-6"]  # most overdue first, as the API lists them
        bad = await client.get("/gaps/edr-uncovered?os_family=plan9")
        assert bad.status_code == 422 and "os_family" in bad.text
        assert (await client.get("/gaps/nothing-here")).status_code == 404


async def test_paging_keeps_the_instant_and_the_filters(pages: Pages, db: asyncpg.Connection) -> None:
    await build(db)
    async with PagesClient(pages.url) as client:
        await client.dev_sign_in("auditor")
        page = (await client.get("/gaps/vulnerabilities-past-sla?offset=4")).text
        # Rows 5 and 6 of 6: CVE-1 then CVE-6; the link back keeps T.
        assert cells(page, 1) == ["CVE-1", "CVE-6"] and "Rows 5–6 of 6" in page
        assert "offset=0" in page and "at=2026-10-01T12%3A00%3A00%2B00%3A00" in page


async def test_the_csv_holds_every_row_as_of_the_same_instant(pages: Pages, db: asyncpg.Connection) -> None:
    await build(db)
    async with PagesClient(pages.url) as client:
        await client.dev_sign_in("auditor")
        got = await client.get("/gaps/vulnerabilities-past-sla.csv")
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
        assert got.headers["content-disposition"] == (
            'attachment; filename="vulnerabilities-past-sla-20261001T120000Z.csv"'
        )
        rows = list(csv.DictReader(io.StringIO(got.text)))
        assert [r["vulnerability_id"] for r in rows] == [
            "CVE-3",
            "CVE-11",
            "CVE-2",
            "CVE-12",
            "CVE-1",
            "CVE-6",
        ]
        # The overdue times in seconds add up to the security debt worked out by hand: 40 days.
        assert sum(float(r["overdue_seconds"]) for r in rows) == 40 * 86400
        assert rows[0]["detected_at"] == (T.replace(month=6, day=23)).isoformat()  # T - 100 days
        filtered = await client.get("/gaps/edr-uncovered.csv?os_family=linux")
        assert [r["asset_id"] for r in csv.DictReader(io.StringIO(filtered.text))] == ["e3", "e9"]


async def test_a_breached_finding_leads_to_a_proposal_with_its_scope(
    pages: Pages, db: asyncpg.Connection
) -> None:
    await build(db)
    async with PagesClient(pages.url) as reader, PagesClient(pages.url) as rita:
        await reader.dev_sign_in("auditor")
        await rita.dev_sign_in("rita", "risk:propose")
        assert "Propose an acceptance" not in (await reader.get("/gaps/vulnerabilities-past-sla")).text
        page = (await rita.get("/gaps/vulnerabilities-past-sla?severity=critical")).text
        links = [unescape(h) for h in re.findall(r'href="(/risk/new\?[^"]+)"', page)]
        assert links[0] == "/risk/new?vulnerability_id=CVE-1&asset_id=srv-pay&severity=critical"
        form = (await rita.get(links[0])).text
        assert 'name="vulnerability_id" maxlength="512" value="CVE-1"' in form
        assert 'name="asset_id" maxlength="512" value="srv-pay"' in form
        assert "<option selected>critical</option>" in form
        checks = (await rita.get("/gaps/cloud-checks-failing")).text
        assert "/risk/new?control_id=c9&amp;resource_id=r8&amp;severity=critical" in checks


def test_csv_cells_never_start_a_formula() -> None:
    text = csv_text(["asset_id", "n"], [{"asset_id": "=HYPERLINK(\"http://x\")", "n": 1},
                                        {"asset_id": "-1+2", "n": 2}, {"asset_id": "@SUM(A1)", "n": 3}])  # fmt: skip
    assert [r["asset_id"] for r in csv.DictReader(io.StringIO(text))] == [
        "'=HYPERLINK(\"http://x\")", "'-1+2", "'@SUM(A1)"]  # fmt: skip


def test_every_api_drill_down_has_its_page() -> None:
    from trustline.api.gaps.routes import router

    api = sorted(r.path.rsplit("/", 1)[-1] for r in router.routes)  # type: ignore[attr-defined]
    assert api == sorted(LISTS)
