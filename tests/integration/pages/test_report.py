"""The monthly board report: as a page, as PDF and from the CLI, with the API's numbers at its instant."""

from __future__ import annotations

import asyncio
import io
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pypdf
import pytest

from tests.helpers import clean_env, require_pango
from tests.integration.api.gaps_scenario import build
from trustline.shared.auth import keys
from trustline.shared.metrics.snapshot import snapshot_once
from trustline.shared.policy import Policy

from .conftest import Pages

pytestmark = pytest.mark.integration
# A stored snapshot in October's last day: the October report is read as of it.
OCT_END = datetime(2026, 10, 31, 23, 0, tzinfo=UTC)


def pct(ratio: dict[str, Any]) -> str:
    return "–" if ratio["ratio"] is None else f"{ratio['ratio'] * 100:.1f} %"


def headline_from_api(k: dict[str, Any]) -> dict[str, str]:
    """The report's headline figures, worked out here from `GET /api/v1/kpis` (its JSON, not our code)."""
    met = sum(p["sla_compliance"]["numerator"] for p in k["patching"])
    done = sum(p["sla_compliance"]["denominator"] for p in k["patching"])
    return {
        "edr_coverage": pct(k["edr_coverage"]),
        "privileged_mfa": pct(k["privileged_mfa"]),
        "privileged_phishing_resistant_mfa": pct(k["privileged_phishing_resistant_mfa"]),
        "cloud_config_compliance": pct(k["cloud_config_compliance"]),
        "patch_sla_compliance": f"{met / done * 100:.1f} %" if done else "–",
        "vulnerabilities_past_sla": str(sum(p["open"]["breached"] for p in k["patching"])),
        "security_debt": f"{sum(p['open']['security_debt_seconds'] for p in k['patching']) / 86400:.1f} d",
        "open_incidents": str(sum(i["open"] for i in k["incidents"])),
    }


def headline_in_page(html: str) -> dict[str, str]:
    return dict(re.findall(r'<td class="num" data-kpi="([a-z_]+)">([^<]*)</td>', html))


async def scenario(db: asyncpg.Connection) -> dict[str, str]:
    await build(db)  # the drill-down scenario, its snapshot stored at 2026-10-01T12:00Z
    await snapshot_once(db, at=OCT_END, policy=Policy(), max_business_units=50, writer="test")
    key = await keys.create_key(db, principal="board-job", scopes=["read"], now=datetime.now(UTC))
    return {"Authorization": f"Bearer {key}"}


async def test_the_report_page_and_pdf_hold_the_apis_numbers(pages: Pages, db: asyncpg.Connection) -> None:
    require_pango()
    auth = await scenario(db)
    async with httpx.AsyncClient(base_url=pages.url, headers=auth, timeout=120) as http:
        api = (await http.get("/api/v1/kpis", params={"at": OCT_END.isoformat()})).json()
        assert api["source"] == "stored"
        page = await http.get("/reports/monthly", params={"month": "2026-10"})
        assert page.status_code == 200, page.text
        expected = headline_from_api(api)
        assert headline_in_page(page.text) == expected
        # By hand: on Oct 31 the six breached of Oct 1 (CVE-1, -2, -3, -6, -11, -12) still are; CVE-4
        # (critical, detected Sep 26) is past its 7 days, CVE-5's acceptance ended on Oct 11 (50 + 30 days
        # open, SLA 30) and CVE-9 (high since Sep 29, open since Sep 1) is 60 days old: 9 past SLA.
        assert expected["vulnerabilities_past_sla"] == "9"
        assert '<strong id="as-of">2026-10-31 23:00 UTC</strong>' in page.text
        past = (
            await http.get("/api/v1/gaps/vulnerabilities-past-sla", params={"at": OCT_END.isoformat()})
        ).json()
        assert f'<strong id="breaches-total">{past["total"]}</strong>' in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'none'; style-src 'self'")
        pdf = await http.get("/reports/monthly", params={"month": "2026-10", "format": "pdf"})
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "2026-10-31 23:00 UTC" in text
    for title, value in zip(TITLES, expected.values(), strict=True):
        assert re.search(rf"{re.escape(title)}\s+{re.escape(value)}", text), (title, value)


TITLES = ("EDR coverage", "Privileged MFA", "Privileged phishing-resistant MFA", "Cloud configuration compliance",
          "Patch SLA compliance", "Vulnerabilities past SLA", "Security debt", "Open incidents")  # fmt: skip


def pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)


async def test_a_month_without_a_stored_snapshot_at_its_end_is_computed(
    pages: Pages, db: asyncpg.Connection
) -> None:
    auth = await scenario(db)
    async with httpx.AsyncClient(base_url=pages.url, headers=auth, timeout=120) as http:
        page = (await http.get("/reports/monthly", params={"month": "2026-09"})).text
        # September ends at Oct 1 00:00, twelve hours before the stored snapshot: computed from the events.
        assert '<strong id="as-of">2026-10-01 00:00 UTC</strong>' in page and "computed from" in page
        api = (await http.get("/api/v1/kpis", params={"at": "2026-10-01T00:00:00Z"})).json()
        assert headline_in_page(page) == headline_from_api(api)
        # The six acceptances of the scenario were all proposed in late September.
        assert "Proposed this month: 6" in page
        for bad in ("2026-13", "26-10", "2026-1", "9999-01", "2200-01", "2027-01"):
            got = await http.get("/reports/monthly", params={"month": bad})
            assert got.status_code == 422, (bad, got.text)
    async with httpx.AsyncClient(base_url=pages.url) as anonymous:
        assert (await anonymous.get("/reports/monthly", params={"month": "2026-09"})).status_code == 401


async def test_the_cli_writes_the_same_report(pages: Pages, db: asyncpg.Connection, tmp_path: Path) -> None:
    require_pango()
    auth = await scenario(db)
    out = tmp_path / "board.pdf"
    env = clean_env(TRUSTLINE_DATABASE_URL=pages.settings.asyncpg_dsn())
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "trustline.cli", "report", "monthly", "--month", "2026-10", "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "as of 2026-10-31 23:00" in done.stderr
    async with httpx.AsyncClient(base_url=pages.url, headers=auth) as http:
        api = (await http.get("/api/v1/kpis", params={"at": OCT_END.isoformat()})).json()
    text = pdf_text(out.read_bytes())
    for title, value in zip(TITLES, headline_from_api(api).values(), strict=True):
        assert re.search(rf"{re.escape(title)}\s+{re.escape(value)}", text), (title, value)
    bad = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "trustline.cli", "report", "monthly", "--month", "May", "--out",
                         str(out)], env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 1 and "month must be YYYY-MM" in bad.stderr
