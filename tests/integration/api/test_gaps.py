"""The drill-downs over HTTP: each list worked out by hand, and its total equal to the metric it explains."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from tests.helpers import Series
from tests.scenario import D, H, T, load, snapshot
from trustline.shared.auth import keys as keys
from trustline.shared.metrics.snapshot import snapshot_once
from trustline.shared.policy import Policy

from .gaps_scenario import accept, asset, build, check, vuln

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
        # Why none is covered: CVE-11's low acceptance expired at T-1d; CVE-12's names another asset and
        # CVE-6's another business unit (out of scope, so no acceptance at all for them).
        assert ids(body, "vulnerability_id", "reason") == [
            ("CVE-3", "no_acceptance"), ("CVE-11", "acceptance_ended"), ("CVE-2", "no_acceptance"),
            ("CVE-12", "no_acceptance"), ("CVE-1", "no_acceptance"), ("CVE-6", "no_acceptance")]  # fmt: skip
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
        # r8's critical acceptance of c9 expired at T-1d; c1's acceptance names r2 only.
        assert ids(failing, "resource_id", "reason") == [
            ("r8", "acceptance_ended"), ("r1", "no_acceptance"), ("r9", "no_acceptance")]  # fmt: skip
        assert failing["total"] == 3 == total(m, "trustline_cloud_config_checks", status="fail")
        everything = await get("cloud-checks-failing", include_accepted="true")
        assert ids(everything, "resource_id", "accepted", "reason") == [
            ("r8", False, "acceptance_ended"),
            ("r1", False, "no_acceptance"),
            ("r2", True, None),
            ("r9", False, "no_acceptance"),
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


async def test_a_finding_re_rated_above_its_acceptance_is_listed_with_the_reason(
    api: str, db: asyncpg.Connection
) -> None:
    await load(db, [
        asset("srv", T - 200 * D, "payments", "server", edr_required=False),
        # CVE-R: medium from T-120d, re-rated critical at T-10d; its medium acceptance is still in force.
        vuln("srv", "CVE-R", T - 120 * D, "medium"), vuln("srv", "CVE-R", T - 10 * D, "critical"),
        vuln("srv", "CVE-X", T - 50 * D, "high"),      # its high acceptance expired at T-5d
        vuln("srv", "CVE-N", T - 9 * D, "critical"),   # never accepted
        vuln("srv", "CVE-C", T - 20 * D, "critical"),  # under a critical acceptance: covered
        # Cloud: r1/c1 re-evaluated from medium to critical at T-1d under a medium acceptance of c1; r4/c1 is
        # low, covered by it; r2/c2's high acceptance expired at T-2d; r3/c3 was never accepted.
        check("r1", "c1", T - 3 * D, "fail", "medium"), check("r1", "c1", T - D, "fail", "critical"),
        check("r4", "c1", T - D, "fail", "low"),
        check("r2", "c2", T - D, "fail", "high"),
        check("r3", "c3", T - D, "fail", "low"),
    ])  # fmt: skip
    await accept(db, at=T - 60 * D, expires=T + 60 * D, severity="medium", vulnerability_id="CVE-R")
    await accept(db, at=T - 40 * D, expires=T - 5 * D, severity="high", vulnerability_id="CVE-X")
    await accept(db, at=T - 10 * D, expires=T + 10 * D, severity="critical", vulnerability_id="CVE-C")
    await accept(db, at=T - 5 * D, expires=T + 30 * D, severity="medium", control_id="c1")
    await accept(db, at=T - 20 * D, expires=T - 2 * D, severity="high", control_id="c2")
    await snapshot_once(db, at=T, policy=Policy(), max_business_units=50, writer="test")
    m = await snapshot(db)
    async with httpx.AsyncClient(base_url=api) as http:
        get = Client(http, await reader(db))
        body = await get("vulnerabilities-past-sla")
        # Overdue at T: CVE-R critical since T-10d with its T-120d clock: 120 - 7 = 113 d; CVE-X 50 - 30 = 20 d;
        # CVE-N 9 - 7 = 2 d. CVE-C is accepted.
        assert ids(body, "vulnerability_id", "severity", "overdue_seconds", "reason") == [
            ("CVE-R", "critical", 113 * DAY, "acceptance_severity_exceeded"),
            ("CVE-X", "high", 20 * DAY, "acceptance_ended"),
            ("CVE-N", "critical", 2 * DAY, "no_acceptance"),
        ]
        assert body["total"] == 3 == total(m, "trustline_vulnerabilities_open", sla_status="breached")
        assert sum(i["overdue_seconds"] for i in body["items"]) == total(m, "trustline_security_debt_seconds")
        # At T-20d CVE-R was medium (100 d old) and covered; CVE-X (30 d, exactly its SLA) was not past it.
        past = await get("vulnerabilities-past-sla", at=(T - 20 * D).isoformat())
        assert ids(past, "vulnerability_id") == [] and past["total"] == 0

        failing = await get("cloud-checks-failing", include_accepted="true")
        # Most severe first: r1 (critical), r2 (high), then the low ones by control: r4 (c1), r3 (c3).
        assert ids(failing, "resource_id", "severity", "accepted", "reason") == [
            ("r1", "critical", False, "acceptance_severity_exceeded"),
            ("r2", "high", False, "acceptance_ended"),
            ("r4", "low", True, None),
            ("r3", "low", False, "no_acceptance"),
        ]
        assert (await get("cloud-checks-failing"))["total"] == 3 == total(
            m, "trustline_cloud_config_checks", status="fail")  # fmt: skip
        # At T-2d r1 was medium: covered like r4 (r4 was not evaluated yet).
        earlier = await get("cloud-checks-failing", include_accepted="true", at=(T - 2 * D).isoformat())
        assert ids(earlier, "resource_id", "accepted", "reason") == [("r1", True, None)]


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
            "/api/v1/gaps/incidents-open", params={"at": "1970-01-01T00:00:00Z"}, headers=good
        )
        assert earliest.status_code == 200 and earliest.json()["total"] == 0
        # An instant without an offset is UTC, a bare date is midnight UTC.
        for given, utc in (
            ("2026-10-01T12:00:00", "2026-10-01T12:00:00Z"),
            ("2026-10-01", "2026-10-01T00:00:00Z"),
        ):
            naive = await http.get("/api/v1/gaps/incidents-open", params={"at": given}, headers=good)
            assert naive.status_code == 200 and naive.json()["as_of"] == utc, naive.text
        for path, params in [
            ("vulnerabilities-past-sla", {"severity": "urgent"}),
            ("vulnerabilities-past-sla", {"severity": "info"}),
            ("cloud-checks-failing", {"provider": "oracle"}),
            ("edr-uncovered", {"os_family": "beos"}),
            ("identities-without-mfa", {"strength": "strong"}),
            ("incidents-open", {"limit": 0}),
            ("incidents-open", {"limit": 501}),
            ("incidents-open", {"offset": -1}),
            ("incidents-open", {"at": "0001-01-01T00:00:00Z"}),  # before 1970: refused, not overflowed
            ("incidents-open", {"at": "9999-12-31T23:59:59-14:00"}),
            ("incidents-open", {"at": "yesterday"}),
            ("incidents-open", {"at": "0001-01-01T00:30:00+01:00"}),  # no UTC equivalent
            ("edr-uncovered", {"business_unit": "pay\x00ments"}),
        ]:
            bad = await http.get(f"/api/v1/gaps/{path}", params=params, headers=good)
            assert bad.status_code == 422, (path, params, bad.text)
            assert bad.headers["content-type"] == "application/problem+json" and bad.json()["errors"]
