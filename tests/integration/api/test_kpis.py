"""/api/v1/kpis and /kpis/history over HTTP: exact values worked out by hand for one small estate."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from tests.scenario import D, H, T, ev, load
from trustline.api.kpis import service as kpi_service
from trustline.shared.auth import keys as keys
from trustline.shared.metrics.snapshot import snapshot_once
from trustline.shared.policy import Policy

from .gaps_scenario import accept

pytestmark = pytest.mark.integration
Q = {"at": T.isoformat()}


def asset(asset_id: str, bu: str, os: str, at: datetime) -> dict[str, Any]:
    return ev("asset.observed", at, source="test/cmdb", asset_id=asset_id, kind="endpoint",
              os_family=os, business_unit=bu)  # fmt: skip


def beat(asset_id: str, at: datetime) -> dict[str, Any]:
    return ev("edr.heartbeat", at, source="test/edr", asset_id=asset_id)


def vuln(kind: str, asset_id: str, cve: str, at: datetime, severity: str = "critical") -> dict[str, Any]:
    data = {"severity": severity} if kind == "detected" else {}
    return ev(
        f"vulnerability.{kind}", at, source="test/scanner", asset_id=asset_id, vulnerability_id=cve, **data
    )


def inc(stage: str, incident: str, at: datetime, **data: Any) -> dict[str, Any]:
    return ev(f"incident.{stage}", at, source="test/pager", incident_id=incident, **data)


ESTATE = [
    # Five expected endpoints (a6 is retired); a1, a2, a5 heartbeat 1 h before T, a3 two days before.
    *(asset(a, "payments", "linux", T - D) for a in ("a1", "a2", "a3", "a4")),
    asset("a5", "retail", "windows", T - D),
    asset("a6", "retail", "windows", T - 3 * D),
    ev("asset.retired", T - 2 * D, source="test/cmdb", asset_id="a6"),
    beat("a1", T - H), beat("a2", T - H), beat("a5", T - H), beat("a3", T - 2 * D),
    beat("ghost", T - H),  # never in the inventory: one unknown asset
    # Three privileged identities (webauthn, totp, none) and a standard one with sms.
    *(ev("identity.observed", T - D, source="test/idp", user_id=u, privileged=p)
      for u, p in (("u1", True), ("u2", True), ("u3", True), ("u4", False))),
    ev("mfa.enrolled", T - D, source="test/idp", user_id="u1", factor_type="webauthn"),
    ev("mfa.enrolled", T - D, source="test/idp", user_id="u2", factor_type="totp"),
    ev("mfa.enrolled", T - D, source="test/idp", user_id="u4", factor_type="sms"),
    # Cloud: two passing, two failing, one muted check.
    *(ev("cloud.evaluated", T - H, source="test/cspm", resource_id=r, control_id=c, status=s,
         severity="high", provider="aws")
      for r, c, s in (("r1", "c1", "pass"), ("r2", "c1", "fail"), ("r3", "c2", "fail"),
                      ("r4", "c3", "pass"), ("r5", "c1", "muted"))),
    # Critical remediations in the 30 d window: 5 d, 12 d and 3 d; one more 50 days ago (outside).
    vuln("detected", "a1", "CVE-1", T - 10 * D), vuln("remediated", "a1", "CVE-1", T - 5 * D),
    vuln("detected", "a2", "CVE-2", T - 20 * D), vuln("remediated", "a2", "CVE-2", T - 8 * D),
    vuln("detected", "a3", "CVE-3", T - 15 * D), vuln("remediated", "a3", "CVE-3", T - 12 * D),
    vuln("detected", "a2", "CVE-5", T - 60 * D), vuln("remediated", "a2", "CVE-5", T - 50 * D),
    # High: one remediation after 38 d (SLA 30 d: missed).
    vuln("detected", "a1", "CVE-4", T - 40 * D, "high"), vuln("remediated", "a1", "CVE-4", T - 2 * D),
    # Open: critical 10 d old (breached, 3 d debt), critical 2 d old (within), high 45 d old (15 d debt).
    vuln("detected", "a4", "CVE-6", T - 10 * D), vuln("detected", "a5", "CVE-7", T - 2 * D),
    vuln("detected", "a1", "CVE-8", T - 45 * D, "high"),
    # Incidents: critical i1 (ack 1 h, contain 4 h, restore 6 h), critical i2 (ack 2 h, resolved after
    # 1 d without restore), high i3 still open.
    inc("opened", "i1", T - 10 * H, severity="critical"), inc("acknowledged", "i1", T - 9 * H),
    inc("contained", "i1", T - 6 * H), inc("restored", "i1", T - 4 * H), inc("resolved", "i1", T - 3 * H),
    inc("opened", "i2", T - 5 * D, severity="critical"), inc("acknowledged", "i2", T - 5 * D + 2 * H),
    inc("resolved", "i2", T - 4 * D),
    inc("opened", "i3", T - H, severity="high"),
]  # fmt: skip


@pytest.fixture
async def reader(db: asyncpg.Connection) -> dict[str, str]:
    key = await keys.create_key(db, principal="leader", scopes=["read"], now=datetime.now(UTC))
    return {"Authorization": f"Bearer {key}"}


def by_severity(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["severity"]: r for r in rows}


def check_headline(k: dict[str, Any]) -> None:
    # EDR: a1, a2, a5 covered of a1..a5 expected.
    assert k["edr_coverage"] == {"numerator": 3, "denominator": 5, "ratio": 0.6}
    assert k["edr_unknown_assets"] == 1
    # Privileged: u1 (webauthn) and u2 (totp) of u1..u3 have MFA; only u1 phishing-resistant.
    assert k["privileged_mfa"] == {"numerator": 2, "denominator": 3, "ratio": pytest.approx(2 / 3)}
    assert k["privileged_phishing_resistant_mfa"]["numerator"] == 1
    assert k["privileged_phishing_resistant_mfa"]["denominator"] == 3
    # Cloud: 2 pass / (2 pass + 2 fail); the muted check is out.
    assert k["cloud_config_compliance"] == {"numerator": 2, "denominator": 4, "ratio": 0.5}
    patch = by_severity(k["patching"])
    crit = patch["critical"]
    # Critical in 30 d: 3 d, 5 d, 12 d. Met (<= 7 d): 2 of 3. Mean 20/3 d. Median 5 d.
    # p90 by linear interpolation: rank 0.9 x (3 - 1) = 1.8 -> 5 d + 0.8 x (12 d - 5 d) = 10.6 d.
    assert (crit["remediations"], crit["sla_days"]) == (3, 7)
    assert crit["sla_compliance"]["numerator"] == 2 and crit["sla_compliance"]["ratio"] == pytest.approx(
        2 / 3
    )
    assert crit["mean_seconds"] == pytest.approx(20 / 3 * 86400)
    assert crit["p50_seconds"] == pytest.approx(5 * 86400)
    assert crit["p90_seconds"] == pytest.approx(10.6 * 86400)
    # Open critical: CVE-6 breached (10 d > 7 d: debt 3 d), CVE-7 within SLA.
    assert crit["open"] == {
        "within_sla": 1,
        "breached": 1,
        "accepted": 0,
        "security_debt_seconds": pytest.approx(3 * 86400),
    }
    high = patch["high"]
    assert high["sla_compliance"] == {"numerator": 0, "denominator": 1, "ratio": 0.0}
    assert high["p50_seconds"] == high["p90_seconds"] == pytest.approx(38 * 86400)
    assert high["open"]["breached"] == 1 and high["open"]["security_debt_seconds"] == pytest.approx(
        15 * 86400
    )
    # No medium remediations: the ratio is absent, not 0.
    assert patch["medium"]["sla_compliance"] == {"numerator": 0, "denominator": 0, "ratio": None}
    assert patch["medium"]["p50_seconds"] is None
    incidents = by_severity(k["incidents"])
    # Critical: acknowledge after 1 h and 2 h; contain 4 h (i1 only); restore 6 h and 1 d (i2: resolve).
    assert incidents["critical"]["mtta_seconds"] == pytest.approx(1.5 * 3600)
    assert incidents["critical"]["mttc_seconds"] == pytest.approx(4 * 3600)
    assert incidents["critical"]["mttr_seconds"] == pytest.approx((6 + 24) / 2 * 3600)
    assert (incidents["critical"]["restored"], incidents["critical"]["open"]) == (2, 0)
    assert (incidents["high"]["mtta_seconds"], incidents["high"]["open"]) == (None, 1)


async def test_kpis_as_of_an_instant_and_from_the_stored_snapshot(
    api: str, db: asyncpg.Connection, reader: dict[str, str]
) -> None:
    await load(db, ESTATE)
    async with httpx.AsyncClient(base_url=api, headers=reader) as http:
        computed = (await http.get("/api/v1/kpis", params=Q)).json()
        assert computed["source"] == "computed" and computed["as_of"] == T.isoformat().replace("+00:00", "Z")
        check_headline(computed)
        await snapshot_once(db, at=T, policy=Policy(), max_business_units=50, writer="test")
        stored = (await http.get("/api/v1/kpis")).json()
        assert stored["source"] == "stored"
        check_headline(stored)
        # The 7 d window keeps only CVE-1 (remediated 5 days ago, after 5 d); CVE-2 and CVE-3 closed 8 and
        # 12 days ago.
        week = (await http.get("/api/v1/kpis", params={"window": "7d"})).json()
        crit = by_severity(week["patching"])["critical"]
        assert crit["remediations"] == 1 and crit["p50_seconds"] == pytest.approx(5 * 86400)


async def test_kpi_history_reads_the_stored_snapshots(
    api: str, db: asyncpg.Connection, reader: dict[str, str]
) -> None:
    await load(db, ESTATE)
    for at in (T - D, T):
        await snapshot_once(db, at=at, policy=Policy(), max_business_units=50, writer="test")
    params = {"from": (T - 2 * D).isoformat(), "to": T.isoformat(), "step": "1d"}
    async with httpx.AsyncClient(base_url=api, headers=reader) as http:
        history = (await http.get("/api/v1/kpis/history", params=params)).json()
    points = history["points"]
    assert [p["at"] for p in points] == [(T - n * D).isoformat().replace("+00:00", "Z") for n in (2, 1, 0)]
    assert points[0]["kpis"] is None  # nothing stored in (T - 3 d, T - 2 d]
    # At T - 1 d only a3's heartbeat (T - 2 d) is within 24 h: 1 of 5 covered.
    assert points[1]["kpis"]["edr_coverage"] == {"numerator": 1, "denominator": 5, "ratio": 0.2}
    now = points[2]["kpis"]
    assert now["edr_coverage"]["ratio"] == 0.6 and now["cloud_config_compliance"]["ratio"] == 0.5
    assert by_severity(now["patching"])["critical"]["p50_seconds"] is None  # not stored: exact only live


async def test_kpis_stop_counting_a_finding_as_accepted_once_re_rated_above_its_acceptance(
    api: str, db: asyncpg.Connection, reader: dict[str, str]
) -> None:
    await load(db, [
        asset("k1", "retail", "linux", T - 60 * D),
        # CVE-R: medium from T-40d under a medium acceptance, re-rated critical at T-1d.
        vuln("detected", "k1", "CVE-R", T - 40 * D, "medium"), vuln("detected", "k1", "CVE-R", T - D, "critical"),
        # r1/c1 fails as medium under a medium acceptance of c1, then as critical from T-1d; r3 passes.
        *(ev("cloud.evaluated", at, source="test/cspm", resource_id=r, control_id=c, status=st, severity=sev,
             provider="aws")
          for r, c, st, sev, at in (("r1", "c1", "fail", "medium", T - 3 * D), ("r3", "c2", "pass", "high", T - 3 * D),
                                    ("r1", "c1", "fail", "critical", T - D))),
    ])  # fmt: skip
    await accept(db, at=T - 30 * D, expires=T + 100 * D, severity="medium", vulnerability_id="CVE-R")
    await accept(db, at=T - 5 * D, expires=T + 30 * D, severity="medium", control_id="c1")
    zero = {"within_sla": 0, "breached": 0, "accepted": 0, "security_debt_seconds": 0}
    async with httpx.AsyncClient(base_url=api, headers=reader) as http:
        before = (await http.get("/api/v1/kpis", params={"at": (T - 2 * D).isoformat()})).json()
        after = (await http.get("/api/v1/kpis", params=Q)).json()
    # T-2d: CVE-R is medium and accepted; r1 (medium) is accepted, so compliance is r3 alone: 1 / (1 + 0).
    assert by_severity(before["patching"])["medium"]["open"] == zero | {"accepted": 1}
    assert by_severity(before["patching"])["critical"]["open"] == zero
    assert before["cloud_config_compliance"] == {"numerator": 1, "denominator": 1, "ratio": 1.0}
    # T: CVE-R is critical with its T-40d clock: breached, 40 - 7 = 33 d = 2851200 s of debt. r1 (critical)
    # fails again: 1 / (1 + 1).
    assert by_severity(after["patching"])["critical"]["open"] == zero | {
        "breached": 1, "security_debt_seconds": 33 * 86400}  # fmt: skip
    assert by_severity(after["patching"])["medium"]["open"] == zero
    assert after["cloud_config_compliance"] == {"numerator": 1, "denominator": 2, "ratio": 0.5}


async def test_kpis_refuse_bad_requests(api: str, db: asyncpg.Connection, reader: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=api) as http:
        assert (await http.get("/api/v1/kpis")).status_code == 401
        bad_step = await http.get("/api/v1/kpis/history", params={"step": "soon"}, headers=reader)
        assert bad_step.status_code == 422 and "step" in bad_step.json()["detail"]
        too_many = await http.get("/api/v1/kpis/history", params={"step": "1m"}, headers=reader)
        assert too_many.status_code == 422 and "1000 points" in too_many.json()["detail"]
        future = await http.get("/api/v1/kpis", params={"at": "2100-01-01T00:00:00Z"}, headers=reader)
        assert future.status_code == 422
        bad_window = await http.get("/api/v1/kpis", params={"window": "1y"}, headers=reader)
        assert bad_window.status_code == 422


async def test_one_computed_instant_at_a_time(clean: object, db: asyncpg.Connection) -> None:
    await load(db, ESTATE)
    slot = asyncio.Semaphore(1)
    ask: dict[str, Any] = {
        "window": "30d",
        "policy": Policy(),
        "max_business_units": 50,
        "compute_slot": slot,
    }
    async with slot:  # another request is computing an instant
        with pytest.raises(kpi_service.Busy):
            await kpi_service.kpis(conn=db, at=T, **ask)
        # A stored snapshot needs no computation: it is served while the slot is taken.
        await snapshot_once(db, at=T, policy=Policy(), max_business_units=50, writer="test")
        stored = await kpi_service.kpis(conn=db, at=T, **ask)
        assert stored.source == "stored" and stored.edr_coverage.ratio == 0.6
    computed = await kpi_service.kpis(conn=db, at=T - D, **ask)
    assert computed.source == "computed" and computed.edr_coverage.ratio == 0.2
