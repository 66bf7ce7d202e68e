"""The pages in a real browser (Debian's chromium driven by Playwright) against a real identity provider:
a requester proposes from a breached finding, an approver approves, the finding moves from breached to
accepted on the gap page and on /metrics; self-approval is refused; revoke; the CSV; the monthly report
against the API. axe-core runs on every page; a screenshot of each is kept for review.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.conftest import eventually
from tests.helpers import parse_metrics, sample
from tests.integration.pages.conftest import Pages
from tests.integration.pages.conftest import identity_provider as identity_provider  # noqa: F401
from tests.integration.pages.conftest import pages as pages  # noqa: F401
from tests.scenario import D, ev, load
from trustline.shared.auth import keys
from trustline.shared.metrics.snapshot import snapshot_once
from trustline.shared.policy import Policy

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
AXE = (ROOT / "tests/e2e/vendor/axe-core-4.10.3/axe.min.js").read_text()
SHOTS = ROOT / "var/test-output/pages"
BREACHED = "trustline_vulnerabilities_open"


def chromium() -> str:
    """Debian's chromium: fails in CI when missing, else skips saying how to get it."""
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: `make test` installs Debian's chromium package as root")
        pytest.skip(
            "chromium not installed: Debian's `chromium` package needs root (`make test` as root installs it)"
        )
    return found


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    path = chromium()
    args = ["--no-sandbox"] if os.geteuid() == 0 else []  # chromium's sandbox refuses to run as root
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=path, args=args)
        try:
            yield launched
        finally:
            await launched.close()


class Visit:
    """Pages seen in one browser context: every one is checked by axe and photographed."""

    def __init__(self, context: BrowserContext, page: Page, who: str) -> None:
        self.context, self.page, self.who = context, page, who
        self.csp_reports: list[str] = []
        page.on(
            "console",
            lambda m: self.csp_reports.append(m.text) if "Content Security Policy" in m.text else None,
        )

    async def check(self, name: str) -> None:
        """No CSP refusal while the page loaded, no serious or critical axe finding; keep its screenshot."""
        assert not self.csp_reports, (name, self.csp_reports)
        await self.page.evaluate(AXE)
        result: dict[str, Any] = await self.page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        bad = [(v["id"], v["impact"], v["nodes"][0]["html"][:120]) for v in result["violations"]
               if v["impact"] in ("serious", "critical")]  # fmt: skip
        SHOTS.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        # axe reads the stylesheets over XHR, which the pages' CSP (no connect-src) rightly refuses.
        self.csp_reports.clear()
        assert not bad, (name, bad)


async def sign_in(browser: Browser, base: str, sub: str) -> Visit:
    """Sign in as `sub` at the identity provider, as a person does: the button, then their account."""
    context = await browser.new_context(base_url=base)
    page = await context.new_page()
    visit = Visit(context, page, sub)
    await page.goto("/")
    assert page.url.endswith("/signin")
    await visit.check("signin")
    await page.click("text=Sign in with your company account")
    await page.click(f"button[value='{sub}']")  # the provider's own page: the predefined person
    await page.wait_for_url(f"{base}/")
    return visit


async def metrics(base: str) -> Any:
    async with httpx.AsyncClient() as http:
        return parse_metrics((await http.get(f"{base}/metrics")).text)


async def snapshot_now(db: asyncpg.Connection, base: str) -> datetime:
    """What the aggregator does every few seconds: a snapshot as of now; then /metrics serves it."""
    at = datetime.now(UTC)
    await snapshot_once(db, at=at, policy=Policy(), max_business_units=50, writer="test")

    async def served() -> bool:
        found = sample(await metrics(base), "trustline_snapshot_timestamp_seconds")
        return found is not None and found >= at.timestamp() - 0.001

    await eventually(served, seconds=30)
    return at


def open_count(series: Any, status: str) -> float | None:
    return sample(series, BREACHED, business_unit="payments", severity="critical", sla_status=status)


async def test_the_register_flow_in_a_browser(
    browser: Browser,
    pages: Pages,
    db: asyncpg.Connection,  # noqa: F811
) -> None:
    now = datetime.now(UTC)
    # One payments server with a critical finding detected 10 days ago: past its 7-day SLA.
    await load(db, [
        ev("asset.observed", now - 20 * D, source="t/cmdb", asset_id="pay-db-1", business_unit="payments",
           kind="server", edr_required=False),
        ev("vulnerability.detected", now - 10 * D, asset_id="pay-db-1", vulnerability_id="CVE-2026-7777",
           severity="critical"),
    ])  # fmt: skip
    await snapshot_now(db, pages.url)
    assert (
        open_count(await metrics(pages.url), "breached"),
        open_count(await metrics(pages.url), "accepted"),
    ) == (1, 0)

    rita = await sign_in(browser, pages.url, "u-rita")  # risk-owners: read, risk:propose
    await rita.check("overview")
    await rita.page.goto("/gaps/vulnerabilities-past-sla")
    assert await rita.page.inner_text("#total") == "1"
    await rita.check("gaps-past-sla")
    await rita.page.click("text=Propose an acceptance")
    assert await rita.page.input_value("#p-vuln") == "CVE-2026-7777"
    assert await rita.page.input_value("#p-asset") == "pay-db-1"
    await rita.check("propose")
    await rita.page.fill("#p-title", "Payments DB: vendor fix in the next window")
    await rita.page.fill("#p-just", "The vendor ships the fix on the 15th.")
    await rita.page.fill("#p-owner", "Head of Payments")
    await rita.page.fill("#p-exp", (now + timedelta(days=20)).date().isoformat())
    await rita.page.click("form.stack button[type=submit]")
    assert await rita.page.inner_text("#status") == "proposed"
    assert "It would cover 1 open findings now." in await rita.page.content()
    await rita.check("acceptance-proposed")
    detail = rita.page.url

    # sam holds both scopes and proposed his own: the page offers him no approval, and a forged one fails.
    sam = await sign_in(browser, pages.url, "u-sam")
    await sam.page.goto("/risk/new?control_id=s3_public&severity=high")
    await sam.page.fill("#p-title", "Public bucket for the brochure site")
    await sam.page.fill("#p-just", "Marketing assets only.")
    await sam.page.fill("#p-owner", "Head of Marketing")
    await sam.page.fill("#p-exp", (now + timedelta(days=30)).date().isoformat())
    await sam.page.click("form.stack button[type=submit]")
    assert "someone else must approve it (four eyes)" in await sam.page.inner_text("#four-eyes")
    assert await sam.page.locator("form[aria-label=Approve]").count() == 0
    token = await sam.page.get_attribute("input[name=csrf_token]", "value")
    forged = await sam.context.request.post(f"{sam.page.url}/approve", form={"csrf_token": token or ""})
    assert forged.status == 403 and "four eyes" in await forged.text()

    avery = await sign_in(browser, pages.url, "u-avery")  # security-leads: read, risk:approve
    await avery.page.goto("/risk?view=waiting")
    await avery.check("register-waiting")
    await avery.page.click("text=Payments DB: vendor fix in the next window")
    assert avery.page.url == detail
    await avery.page.fill("#approve-reason", "Database reachable from the app tier only.")
    await avery.page.click("form[aria-label=Approve] button")
    assert await avery.page.inner_text("#status") == "approved"
    await avery.check("acceptance-approved")

    # The next snapshot counts the finding as accepted, on /metrics and on the gap page.
    await snapshot_now(db, pages.url)
    series = await metrics(pages.url)
    assert (open_count(series, "breached"), open_count(series, "accepted")) == (0, 1)
    await rita.page.goto("/gaps/vulnerabilities-past-sla")
    assert (await rita.page.inner_text("#total"), await rita.page.inner_text("#accepted")) == ("0", "1")
    await rita.check("gaps-after-approval")

    # Revoked: it counts as breached again, with its original clock.
    await avery.page.goto(detail)
    await avery.page.fill("#revoke-reason", "The fix was postponed: re-assess.")
    await avery.page.click("form[aria-label=Revoke] button")
    assert await avery.page.inner_text("#status") == "revoked"
    trail = await avery.page.inner_text("table")
    assert "rita@example.com" in trail and "avery@example.com" in trail and "re-assess" in trail
    await avery.check("acceptance-revoked")
    await snapshot_now(db, pages.url)
    assert (
        open_count(await metrics(pages.url), "breached"),
        open_count(await metrics(pages.url), "accepted"),
    ) == (1, 0)

    # The CSV, downloaded as a person does.
    await rita.page.goto("/gaps/vulnerabilities-past-sla")
    async with rita.page.expect_download() as waiting:
        await rita.page.click("#csv")
    download = await waiting.value
    text = await asyncio.to_thread(Path(await download.path()).read_text)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["asset_id"], r["vulnerability_id"], r["severity"]) for r in rows] == [
        ("pay-db-1", "CVE-2026-7777", "critical")]  # fmt: skip

    # The register and the overview for the screenshots; the monthly report against the API.
    await rita.page.goto("/risk")
    await rita.check("register")
    await rita.page.goto("/gaps")
    await rita.check("gaps")
    await rita.page.goto("/reports")
    await rita.check("reports")
    await rita.page.goto(f"/reports/monthly?month={now:%Y-%m}")
    await rita.check("report-monthly")
    shown = dict(re.findall(r'data-kpi="([a-z_]+)">([^<]*)<', await rita.page.content()))
    key = await keys.create_key(db, principal="checker", scopes=["read"], now=now)
    async with httpx.AsyncClient(base_url=pages.url, headers={"Authorization": f"Bearer {key}"}) as http:
        api = (await http.get("/api/v1/kpis")).json()
    breached = sum(p["open"]["breached"] for p in api["patching"])
    debt = sum(p["open"]["security_debt_seconds"] for p in api["patching"]) / 86400
    assert (shown["vulnerabilities_past_sla"], shown["security_debt"]) == (str(breached), f"{debt:.1f} d")
    assert breached == 1  # CVE-2026-7777, breached again since the revocation
    for visit in (rita, sam, avery):
        await visit.context.close()
