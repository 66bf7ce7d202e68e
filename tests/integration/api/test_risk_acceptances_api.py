"""The registry over HTTP: scoped keys, four eyes, attribution to the calling principal, problem details."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.scenario import D, H, ev, load
from trustline.shared.auth import keys as keys

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC)


def proposal(days: int = 20, severity: str = "critical") -> dict[str, object]:
    return {
        "title": "Legacy VPN",
        "justification": "vendor patch due",
        "compensating_controls": "IP allow-list",
        "severity": severity,
        "business_owner": "Head of Retail",
        "expires_at": (NOW + timedelta(days=days)).isoformat(),
        "scope": {"vulnerability_id": "CVE-2026-1"},
    }


async def key(db: asyncpg.Connection, principal: str, *scopes: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {await keys.create_key(db, principal=principal, scopes=list(scopes), now=NOW)}"
    }


async def test_registry_over_http(api: str, db: asyncpg.Connection) -> None:
    alice = await key(db, "alice", "risk:propose", "risk:approve", "read")
    bob = await key(db, "bob", "risk:approve")
    reader = await key(db, "auditor", "read")
    async with httpx.AsyncClient(base_url=api) as http:
        missing = await http.post("/api/v1/risk-acceptances", json=proposal())
        assert missing.status_code == 401 and missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["status"] == 401 and "API key" in missing.json()["detail"]
        wrong = await http.post("/api/v1/risk-acceptances", json=proposal(), headers=reader)
        assert wrong.status_code == 403 and "risk:propose" in wrong.json()["detail"]
        forged = await http.get("/api/v1/risk-acceptances", headers={"X-API-Key": "tl_0000_nope"})
        assert forged.status_code == 401

        too_long = await http.post("/api/v1/risk-acceptances", json=proposal(days=31), headers=alice)
        assert too_long.status_code == 422 and "at most 30 days" in too_long.json()["detail"]
        invalid = await http.post(
            "/api/v1/risk-acceptances", json={**proposal(), "severity": "urgent"}, headers=alice
        )
        assert invalid.status_code == 422 and invalid.json()["errors"]

        made = await http.post("/api/v1/risk-acceptances", json=proposal(), headers=alice)
        assert made.status_code == 201 and made.json()["requested_by"] == "alice"
        acceptance = made.json()["id"]
        own = await http.post(f"/api/v1/risk-acceptances/{acceptance}/approve", json={}, headers=alice)
        assert own.status_code == 403 and "four eyes" in own.json()["detail"]
        approved = await http.post(
            f"/api/v1/risk-acceptances/{acceptance}/approve", json={"reason": "ok"}, headers=bob
        )
        assert approved.status_code == 200 and approved.json()["approved_by"] == "bob"
        again = await http.post(f"/api/v1/risk-acceptances/{acceptance}/reject", json={}, headers=bob)
        assert again.status_code == 409
        unknown = await http.get(
            "/api/v1/risk-acceptances/00000000-0000-0000-0000-000000000000", headers=reader
        )
        assert unknown.status_code == 404

        detail = await http.get(f"/api/v1/risk-acceptances/{acceptance}", headers=reader)
        assert [(e["action"], e["actor"]) for e in detail.json()["audit"]] == [
            ("proposed", "alice"),
            ("approved", "bob"),
        ]
        listed = await http.get("/api/v1/risk-acceptances", params={"status": "approved"}, headers=reader)
        assert [a["id"] for a in listed.json()] == [acceptance]
        assert (
            await http.get("/api/v1/risk-acceptances", params={"status": "proposed"}, headers=reader)
        ).json() == []

        prefix = bob["Authorization"].split("_")[1]
        assert await keys.revoke_key(db, prefix=prefix, now=NOW)
        revoked = await http.post(f"/api/v1/risk-acceptances/{acceptance}/revoke", json={}, headers=bob)
        assert revoked.status_code == 401


async def test_list_filters_are_validated(api: str, db: asyncpg.Connection) -> None:
    reader = await key(db, "auditor", "read")
    async with httpx.AsyncClient(base_url=api, headers=reader) as http:
        for params in ({"business_unit": "a\x00b"}, {"severity": "catastrophic"}, {"offset": 10**12}):
            got = await http.get("/api/v1/risk-acceptances", params=params)
            assert got.status_code == 422 and got.headers["content-type"] == "application/problem+json", (
                params
            )
        assert (await http.get("/api/v1/risk-acceptances", params={"business_unit": "retail"})).json() == []


async def legacy_key(
    db: asyncpg.Connection, owner_db: asyncpg.Connection, principal: str, *scopes: str
) -> dict[str, str]:
    """A key stored as earlier versions stored it: the principal exactly as typed (written by the schema
    owner: the services' role may not rewrite a principal)."""
    made = await key(db, "placeholder", *scopes)
    await owner_db.execute("UPDATE api_keys SET principal = $1 WHERE principal = 'placeholder'", principal)
    return made


async def test_four_eyes_compares_canonical_names(
    api: str, db: asyncpg.Connection, owner_db: asyncpg.Connection
) -> None:
    alice = await key(db, "alice", "risk:propose")
    shouty = await key(db, "ALICE", "risk:approve")  # the same person, case aside
    for impostor in ("alice\u200b", "\u0430lice", "al\u202eice", " ", "alice\n"):
        with pytest.raises(ValueError, match="invisible|mix scripts|empty"):
            await keys.create_key(db, principal=impostor, scopes=["risk:approve"], now=NOW)
    invisible = await legacy_key(db, owner_db, "alice\u200b", "risk:approve")
    cyrillic = await legacy_key(db, owner_db, "\u0430lice", "risk:approve")
    async with httpx.AsyncClient(base_url=api) as http:
        made = (await http.post("/api/v1/risk-acceptances", json=proposal(), headers=alice)).json()
        approve = f"/api/v1/risk-acceptances/{made['id']}/approve"
        own = await http.post(approve, headers=shouty)
        assert own.status_code == 403 and "four eyes" in own.json()["detail"]
        for stored in (invisible, cyrillic):
            refused = await http.post(approve, headers=stored)
            assert refused.status_code == 401 and "not a valid name" in refused.json()["detail"]
        assert (await http.get(f"/api/v1/risk-acceptances/{made['id']}", headers=shouty)).status_code == 403
    assert await db.fetchval("SELECT status FROM risk_acceptances") == "proposed"


async def test_look_alike_names_are_refused_at_key_creation(
    api: str, db: asyncpg.Connection, owner_db: asyncpg.Connection
) -> None:
    await key(db, "ace", "risk:propose")
    with pytest.raises(ValueError, match="looks like the existing principal ace"):
        await keys.create_key(
            db, principal="\u0430\u0441\u0435", scopes=["risk:approve"], now=NOW
        )  # Cyrillic
    await key(db, "Ace", "risk:approve")  # the same canonical principal: a second key is fine
    assert {r["principal"] for r in await db.fetch("SELECT principal FROM api_keys")} == {"ace"}
    # A look-alike stored before this check still cannot approve its double's proposal.
    proposer = await key(db, "ace", "risk:propose")
    double = await legacy_key(db, owner_db, "\u0430\u0441\u0435", "risk:approve")
    async with httpx.AsyncClient(base_url=api) as http:
        made = (await http.post("/api/v1/risk-acceptances", json=proposal(), headers=proposer)).json()
        refused = await http.post(f"/api/v1/risk-acceptances/{made['id']}/approve", headers=double)
        assert refused.status_code == 403 and "four eyes" in refused.json()["detail"]


async def test_registry_input_that_cannot_be_stored_is_refused(api: str, db: asyncpg.Connection) -> None:
    alice = await key(db, "alice", "risk:propose")
    bob = await key(db, "bob", "risk:approve")
    async with httpx.AsyncClient(base_url=api, headers=alice) as http:
        naive = (NOW + timedelta(days=5)).replace(tzinfo=None, microsecond=0).isoformat()
        made = await http.post("/api/v1/risk-acceptances", json={**proposal(), "expires_at": naive})
        assert made.status_code == 201, made.text
        assert made.json()["expires_at"] == naive + "Z"  # no offset: UTC
        for bad in (
            {"title": "VPN\x00"},
            {"business_owner": "Head\x00of Retail"},
            {"title": "two\nlines"},
            {"justification": "nul \x00"},
            {"scope": {"vulnerability_id": "CVE\x00"}},
            {"scope": {"vulnerability_id": "CVE-1", "asset_id": "a\x00"}},
            {"scope": {"vulnerability_id": "CVE-1", "business_unit": "b\x00"}},
            {"scope": {"control_id": "c\x00"}},
            {"expires_at": "9999-12-31T00:00:00Z"},
            {"expires_at": "0001-01-01T00:00:00+01:00"},
        ):
            got = await http.post("/api/v1/risk-acceptances", json={**proposal(), **bad})
            assert got.status_code == 422 and got.headers["content-type"] == "application/problem+json", bad
        # A lone surrogate is valid JSON but not storable text.
        lone = json.dumps(proposal()).replace("Legacy VPN", "VPN \\ud800")
        got = await http.post(
            "/api/v1/risk-acceptances", content=lone, headers={"content-type": "application/json"}
        )
        assert got.status_code == 422, got.text
        # The reason is optional, and so is the body.
        decided = await http.post(f"/api/v1/risk-acceptances/{made.json()['id']}/approve", headers=bob)
        assert decided.status_code == 200 and decided.json()["approved_by"] == "bob"
        bad_reason = await http.post(
            f"/api/v1/risk-acceptances/{made.json()['id']}/revoke", json={"reason": "x\x00"}, headers=bob
        )
        assert bad_reason.status_code == 422


async def test_a_proposal_reports_what_it_covers_now(api: str, db: asyncpg.Connection) -> None:
    now = datetime.now(UTC)
    await load(db, [
        ev("asset.observed", now - D, asset_id="a1", business_unit="retail"),
        ev("asset.observed", now - D, asset_id="a2", business_unit="payments"),
        ev("asset.observed", now - D, asset_id="a3", business_unit="retail"),
        ev("asset.retired", now - H, asset_id="a3"),
        ev("vulnerability.detected", now - 9 * D, asset_id="a1", vulnerability_id="CVE-9", severity="low"),
        ev("vulnerability.detected", now - 9 * D, asset_id="a2", vulnerability_id="CVE-9", severity="medium"),
        ev("vulnerability.detected", now - 9 * D, asset_id="a3", vulnerability_id="CVE-9", severity="low"),
        # Re-rated critical since: the current severity is the one that counts.
        ev("vulnerability.detected", now - 2 * D, asset_id="a2", vulnerability_id="CVE-9", severity="critical"),
        ev("vulnerability.detected", now - 9 * D, asset_id="a1", vulnerability_id="CVE-8", severity="high"),
        ev("vulnerability.remediated", now - D, asset_id="a1", vulnerability_id="CVE-8"),
        ev("cloud.evaluated", now - H, resource_id="r1", control_id="s3.1", status="fail", severity="high"),
        ev("cloud.evaluated", now - H, resource_id="r2", control_id="s3.1", status="fail", severity="low"),
        ev("cloud.evaluated", now - H, resource_id="r3", control_id="s3.1", status="pass", severity="low"),
        ev("cloud.evaluated", now - 30 * D, resource_id="r4", control_id="s3.1", status="fail", severity="low"),
    ])  # fmt: skip
    alice = await key(db, "alice", "risk:propose")

    async def propose(severity: str, **scope: str) -> dict[str, Any]:
        body = {**proposal(severity=severity), "scope": scope}
        async with httpx.AsyncClient(base_url=api, headers=alice) as http:
            made = await http.post("/api/v1/risk-acceptances", json=body)
        assert made.status_code == 201, made.text
        return dict(made.json())

    low = await propose("low", vulnerability_id="CVE-9")
    assert (low["coverage"]["findings"], low["coverage"]["covered"], low["coverage"]["exceeding"]) == (
        "vulnerabilities", 1, 1,
    )  # fmt: skip
    assert low["warnings"] == [
        "1 open findings in scope are rated above low: this acceptance would not cover them"
    ]
    critical = await propose("critical", vulnerability_id="CVE-9")
    assert (critical["coverage"]["covered"], critical["coverage"]["exceeding"], critical["warnings"]) == (
        2,
        0,
        [],
    )
    scoped = await propose("low", vulnerability_id="CVE-9", business_unit="payments")
    assert (scoped["coverage"]["covered"], scoped["coverage"]["exceeding"]) == (0, 1)
    assert "covers no open findings rated low or lower" in scoped["warnings"][0]
    fixed = await propose("critical", vulnerability_id="CVE-8")
    assert (fixed["coverage"]["covered"], fixed["coverage"]["exceeding"]) == (0, 0) and fixed["warnings"]
    checks = await propose("medium", control_id="s3.1")
    assert (checks["coverage"]["findings"], checks["coverage"]["covered"], checks["coverage"]["exceeding"]) == (
        "cloud_checks", 1, 1,
    )  # fmt: skip
    one = await propose("high", control_id="s3.1", resource_id="r1")
    assert (one["coverage"]["covered"], one["coverage"]["exceeding"], one["warnings"]) == (1, 0, [])
