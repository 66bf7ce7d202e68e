"""The registry over HTTP: scoped keys, four eyes, attribution to the calling principal, problem details."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from trustline.api.auth import service as keys

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
