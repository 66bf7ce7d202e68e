"""The drill-downs over HTTP: each list worked out by hand, and its total equal to the metric it explains."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from tests.helpers import Series
from tests.scenario import D, H, T, snapshot
from trustline.api.auth import service as keys

from .gaps_scenario import build

pytestmark = pytest.mark.integration
DAY = 86400.0


def total(m: Series, name: str, **labels: str) -> float:
    """A metric summed over every series carrying `labels`."""
    return sum(v for (n, lbl), v in m.items() if n == name and set(labels.items()) <= set(lbl))


async def reader(db: asyncpg.Connection, *scopes: str) -> dict[str, str]:
    key = await keys.create_key(db, principal="auditor", scopes=list(scopes or ("read",)), now=T)
    return {"Authorization": f"Bearer {key}"}


class Client:
    """GETs under /api/v1/gaps that must answer 200."""

    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.http, self.headers = http, headers

    async def __call__(self, path: str, **params: Any) -> dict[str, Any]:
        got = await self.http.get(f"/api/v1/gaps/{path}", params=params, headers=self.headers)
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        assert datetime.fromisoformat(body["as_of"]) == datetime.fromisoformat(
            params.get("at", T.isoformat())
        )
        return body


def edr_gap(m: Series, **labels: str) -> float:
    """Assets expected to run EDR minus those covered."""
    expected = total(m, "trustline_edr_assets_expected", **labels)
    return expected - total(m, "trustline_edr_assets_covered", **labels)


def ids(body: dict[str, Any], *fields: str) -> list[Any]:
    return [tuple(i[f] for f in fields) if len(fields) > 1 else i[fields[0]] for i in body["items"]]


async def test_edr_drill_downs(api: str, db: asyncpg.Connection) -> None:
    m = await build(db)
    async with httpx.AsyncClient(base_url=api) as http:
        get = Client(http, await reader(db))
        body = await get("edr-uncovered")
        # Ordered by business unit then asset id; e1 is covered, e4 stale, e5 network, e6 retired.
        assert ids(body, "asset_id", "reason") == [
            ("e2", "stale_heartbeat"), ("e3", "uninstalled"), ("e9", "no_sensor"),
            ("e11", "stale_heartbeat"), ("e12", "no_sensor"),
        ]  # fmt: skip
        # 6 expected - 1 covered = 5 (payments/windows 2-1, payments/linux 2-0, retail/macos 1-0, retail/windows 1-0).
        assert body["total"] == 5 == edr_gap(m)
        e11 = body["items"][3]
        assert [e11[k] for k in ("hostname", "business_unit", "os_family", "kind")] == [
            "r-mac-11",
            "retail",
            "macos",
            "endpoint",
        ]
        assert datetime.fromisoformat(e11["last_seen"]) == T - D
        assert datetime.fromisoformat(e11["last_healthy_heartbeat"]) == T - 30 * H
        assert body["items"][2]["last_healthy_heartbeat"] is None  # e9
        linux = await get("edr-uncovered", os_family="linux")
        assert ids(linux, "asset_id") == ["e3", "e9"] and linux["total"] == 2 == edr_gap(m, os_family="linux")
        assert ids(await get("edr-uncovered", business_unit="retail"), "asset_id") == ["e11", "e12"]
        page = await get("edr-uncovered", limit=2, offset=1)
        assert (ids(page, "asset_id"), page["total"], page["limit"], page["offset"]) == (["e3", "e9"], 5, 2, 1)  # fmt: skip
        past_the_end = await get("edr-uncovered", offset=5)
        assert (past_the_end["items"], past_the_end["total"]) == ([], 5)  # the count still answers

        # As of T-1d: e1 and e3 had not reported yet, e2's beat (T-25h) was 1 h old, e11's (T-30h) 6 h old;
        # e6 retired exactly at T-1d; e12 never healthy.
        past = await get("edr-uncovered", at=(T - D).isoformat())
        assert ids(past, "asset_id", "reason") == [("e1", "no_sensor"), ("e3", "no_sensor"), ("e9", "no_sensor"),
                                                   ("e12", "no_sensor")]  # fmt: skip
        assert past["total"] == 4 == edr_gap(await snapshot(db, T - D))

        unknown = await get("edr-unknown")
        # ghost2's beat is 30 h old; ghost4 was only ever retired, never observed; e4 is known (if stale).
        assert ids(unknown, "asset_id") == ["ghost1", "ghost3", "ghost4"]
        assert datetime.fromisoformat(unknown["items"][0]["last_healthy_heartbeat"]) == T - 3 * H
        assert unknown["total"] == 3 == total(m, "trustline_edr_unknown_assets")


async def test_identity_drill_downs(api: str, db: asyncpg.Connection) -> None:
    m = await build(db)

    def metric(pop: str, strength: str | None = None) -> float:
        if strength is None:
            return total(m, "trustline_identities", population=pop)
        return total(m, "trustline_identities_mfa", population=pop, strength=strength)

    async with httpx.AsyncClient(base_url=api) as http:
        get = Client(http, await reader(db))
        none = await get("identities-without-mfa")
        # Privileged, no factor: u3 (payments) and u7 (retail, promoted at T-3d); u6 is deactivated.
        assert ids(none, "user_id", "business_unit", "population", "factors") == [
            ("u3", "payments", "privileged", []), ("u7", "retail", "privileged", [])]  # fmt: skip
        # identities - with a factor: payments 4 - 2 - 1 (u1, u4 strong; u2 other), retail 2 - 0 - 1 (u10 other).
        assert (
            none["total"]
            == 2
            == metric("privileged")
            - metric("privileged", "phishing_resistant")
            - metric("privileged", "other")
        )
        weak = await get("identities-without-mfa", strength="phishing_resistant")
        # Also those with weak factors only: u2 (totp), u10 (sms, totp); u4's fido2 outweighs its sms.
        assert ids(weak, "user_id", "factors") == [
            ("u2", ["totp"]),
            ("u3", []),
            ("u10", ["sms", "totp"]),
            ("u7", []),
        ]
        assert weak["total"] == 4 == metric("privileged") - metric("privileged", "phishing_resistant")
        retail = await get("identities-without-mfa", strength="phishing_resistant", business_unit="retail")
        assert ids(retail, "user_id") == ["u10", "u7"]
        standard = await get("identities-without-mfa", population="standard")
        # u5 removed its only factor.
        assert ids(standard, "user_id") == ["u5"] and standard["total"] == 1 == metric("standard") - metric(
            "standard", "phishing_resistant") - metric("standard", "other")  # fmt: skip
        # At T-5d u7 was still standard and u6 (no factor) not yet deactivated.
        past = await get("identities-without-mfa", at=(T - 5 * D).isoformat())
        assert ids(past, "user_id") == ["u3", "u6"]


async def test_vulnerabilities_past_sla(api: str, db: asyncpg.Connection) -> None:
    m = await build(db)
    async with httpx.AsyncClient(base_url=api) as http:
        get = Client(http, await reader(db))
        body = await get("vulnerabilities-past-sla")
        # overdue = age - SLA (in days here, in seconds in the answer): CVE-3 100-90, CVE-11 130-120, CVE-2
        # 40-30 (ties by asset, then CVE id),
        # CVE-12 95-90, CVE-1 10-7, CVE-6 9-7 (its acceptance covers payments only). Left out: CVE-4 (5 of 7 d),
        # CVE-5 (accepted), CVE-7 (asset retired), CVE-8 (remediated), CVE-9 (30 d: exactly its high SLA once
        # re-detected as high, clock from the first detection), CVE-10 (info).
        assert ids(body, "asset_id", "vulnerability_id", "business_unit", "severity", "overdue_seconds") == [
            ("hx", "CVE-3", "unassigned", "medium", 10 * DAY),
            ("srv-ret", "CVE-11", "retail", "low", 10 * DAY),
            ("srv-ret", "CVE-2", "retail", "high", 10 * DAY),
            ("srv-pay", "CVE-12", "payments", "medium", 5 * DAY),
            ("srv-pay", "CVE-1", "payments", "critical", 3 * DAY),
            ("srv-ret", "CVE-6", "retail", "critical", 2 * DAY),
        ]
        first = body["items"][0]
        assert (first["age_seconds"], first["sla_days"], first["kev"]) == (100 * DAY, 90, False)
        assert datetime.fromisoformat(first["detected_at"]) == T - 100 * D
        assert body["total"] == 6 == total(m, "trustline_vulnerabilities_open", sla_status="breached")
        # The overdue times add up to the security debt: 10 + 10 + 10 + 5 + 3 + 2 = 40 days.
        assert (
            total(m, "trustline_security_debt_seconds")
            == pytest.approx(40 * DAY)
            == sum(i["overdue_seconds"] for i in body["items"])
        )
        critical = await get("vulnerabilities-past-sla", severity="critical")
        assert ids(critical, "vulnerability_id") == ["CVE-1", "CVE-6"] and critical["total"] == total(
            m, "trustline_vulnerabilities_open", sla_status="breached", severity="critical")  # fmt: skip
        assert ids(await get("vulnerabilities-past-sla", business_unit="unassigned"), "vulnerability_id") == [
            "CVE-3"
        ]
        page = await get("vulnerabilities-past-sla", limit=2, offset=2)
        assert (ids(page, "vulnerability_id"), page["total"]) == (["CVE-2", "CVE-12"], 6)

        # As of T-5d: CVE-8 195-120, CVE-9 still critical 25-7, CVE-5 45-30 (accepted only from T-3d),
        # CVE-7 15-7 (srv-old not yet retired), then CVE-3 95-90 and CVE-2 35-30. CVE-11 was accepted then;
        # CVE-12 was exactly at its 90 d SLA; CVE-1 and CVE-6 within theirs.
        past = await get("vulnerabilities-past-sla", at=(T - 5 * D).isoformat())
        assert ids(past, "vulnerability_id", "overdue_seconds") == [
            ("CVE-8", 75 * DAY), ("CVE-9", 18 * DAY), ("CVE-5", 15 * DAY), ("CVE-7", 8 * DAY), ("CVE-3", 5 * DAY),
            ("CVE-2", 5 * DAY)]  # fmt: skip
        then = await snapshot(db, T - 5 * D)
        assert past["total"] == 6 == total(then, "trustline_vulnerabilities_open", sla_status="breached")


async def test_cloud_checks_and_incidents(api: str, db: asyncpg.Connection) -> None:
    m = await build(db)
    async with httpx.AsyncClient(base_url=api) as http:
        get = Client(http, await reader(db))
        failing = await get("cloud-checks-failing")
        # Most severe first, then control and resource: r8 (acceptance expired), r1, r9. r2 accepted,
        # r4 stale, r5 muted, r6 passes now, r7 info.
        assert ids(failing, "resource_id", "control_id", "severity", "accepted") == [
            ("r8", "c9", "critical", False), ("r1", "c1", "high", False), ("r9", "c5", "medium", False)]  # fmt: skip
        assert (failing["items"][1]["account"], failing["items"][1]["region"]) == ("111", "eu-west-1")
        assert failing["total"] == 3 == total(m, "trustline_cloud_config_checks", status="fail")
        everything = await get("cloud-checks-failing", include_accepted="true")
        assert ids(everything, "resource_id", "accepted") == [
            ("r8", False),
            ("r1", False),
            ("r2", True),
            ("r9", False),
        ]
        assert everything["total"] == 4 == total(m, "trustline_cloud_config_checks", status="fail") + total(
            m, "trustline_cloud_config_checks", status="accepted")  # fmt: skip
        assert ids(await get("cloud-checks-failing", provider="gcp"), "resource_id") == ["r9"]
        high = await get("cloud-checks-failing", severity="high", include_accepted="true")
        assert ids(high, "resource_id") == ["r1", "r2"]

        incidents = await get("incidents-open")
        # i2 critical, i1 high, i7 (now medium), i4 low; i3 resolved, i5 info, i6 without severity.
        assert ids(incidents, "incident_id", "severity", "age_seconds") == [
            ("i2", "critical", 86400.0), ("i1", "high", 3 * 3600.0), ("i7", "medium", 5 * 3600.0),
            ("i4", "low", 3600.0)]  # fmt: skip
        i2 = incidents["items"][0]
        assert [datetime.fromisoformat(i2[k]) for k in ("opened_at", "acknowledged_at", "contained_at", "restored_at")] == [
            T - D, T - 20 * H, T - 10 * H, T - 5 * H]  # fmt: skip
        assert incidents["items"][3]["acknowledged_at"] is None
        assert incidents["total"] == 4 == total(m, "trustline_incidents_open")
        assert ids(await get("incidents-open", severity="high"), "incident_id") == ["i1"]
        # At T-4h only i2 (opened T-1d) and i7 (T-5h, still high then) were open; i3 resolved at T-1d.
        past = await get("incidents-open", at=(T - 4 * H).isoformat())
        assert ids(past, "incident_id", "severity") == [("i2", "critical"), ("i7", "high")]


async def test_access_validation_and_default_instant(api: str, db: asyncpg.Connection) -> None:
    good, writer = await reader(db), await reader(db, "risk:propose")
    paths = ["edr-uncovered", "edr-unknown", "identities-without-mfa", "vulnerabilities-past-sla",
             "cloud-checks-failing", "incidents-open"]  # fmt: skip
    async with httpx.AsyncClient(base_url=api) as http:
        before = datetime.now(UTC)
        for path in paths:
            assert (await http.get(f"/api/v1/gaps/{path}")).status_code == 401
            forbidden = await http.get(f"/api/v1/gaps/{path}", headers=writer)
            assert forbidden.status_code == 403 and "read" in forbidden.json()["detail"]
            # No snapshot yet: as of now, and nothing to list.
            empty = (await http.get(f"/api/v1/gaps/{path}", headers=good)).json()
            assert datetime.fromisoformat(empty["as_of"]) >= before and (empty["total"], empty["items"]) == (
                0,
                [],
            )
        earliest = await http.get(
            "/api/v1/gaps/incidents-open", params={"at": "0001-01-01T00:00:00Z"}, headers=good
        )
        assert earliest.status_code == 200 and earliest.json()["total"] == 0
        for path, params in [
            ("vulnerabilities-past-sla", {"severity": "urgent"}),
            ("vulnerabilities-past-sla", {"severity": "info"}),
            ("cloud-checks-failing", {"provider": "oracle"}),
            ("edr-uncovered", {"os_family": "beos"}),
            ("identities-without-mfa", {"strength": "strong"}),
            ("incidents-open", {"limit": 0}),
            ("incidents-open", {"limit": 501}),
            ("incidents-open", {"offset": -1}),
            ("incidents-open", {"at": "2026-10-01T12:00:00"}),  # no offset: ambiguous
            ("incidents-open", {"at": "yesterday"}),
            ("incidents-open", {"at": "0001-01-01T00:30:00+01:00"}),  # no UTC equivalent
            ("edr-uncovered", {"business_unit": "pay\x00ments"}),
        ]:
            bad = await http.get(f"/api/v1/gaps/{path}", params=params, headers=good)
            assert bad.status_code == 422, (path, params, bad.text)
            assert bad.headers["content-type"] == "application/problem+json" and bad.json()["errors"]
